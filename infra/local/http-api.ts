/**
 * The local API Gateway HTTP API: every entry of `httpRoutes` (lambdas/routes.ts) becomes a
 * route of the local HTTP server whose handler is invoked with a payload-format 2.0 event and
 * whose result is mapped back the way API Gateway maps it.
 */
import { randomBytes } from 'node:crypto';
import type { HttpRouteDefinition } from '../../lambdas/routes.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_API_ID } from './config.ts';
import type { HttpRequest, HttpResponse, HttpRouter } from './http-server.ts';
import { type LambdaHandler, lambdaContext, loadHandler } from './lambda-runtime.ts';
import type { LocalMetrics } from './metrics.ts';

export interface HttpApiOptions {
  readonly metrics: LocalMetrics;
  /** `127.0.0.1:{port}` of the HTTP server. */
  readonly domainName: () => string;
  readonly loadHandler?: (name: string) => Promise<LambdaHandler>;
  /** @default 29 s (API Gateway's integration timeout is 30 s) */
  readonly timeoutMs?: number;
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+json)/i;
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

function requestTime(d: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())} +0000`;
}

/** The payload-format 2.0 event of one request. */
export function httpApiEvent(
  route: HttpRouteDefinition,
  request: HttpRequest,
  domainName: string,
  requestId: string,
): Record<string, unknown> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined || name === 'cookie') continue;
    headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const name of new Set(request.query.keys())) query[name] = request.query.getAll(name).join(',');
  const cookieHeader = request.headers.cookie;
  const contentType = String(request.headers['content-type'] ?? '');
  const textual = request.body.byteLength === 0 || contentType === '' || TEXT_TYPES.test(contentType);
  const now = new Date();
  const routeKey = `${route.method} ${route.path}`;
  return {
    version: '2.0',
    routeKey,
    rawPath: request.path,
    rawQueryString: request.query.toString(),
    ...(cookieHeader ? { cookies: cookieHeader.split(/;\s*/) } : {}),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(request.params).length > 0 ? { pathParameters: { ...request.params } } : {}),
    requestContext: {
      accountId: LOCAL_ACCOUNT_ID,
      apiId: LOCAL_API_ID,
      domainName,
      domainPrefix: domainName.split('.')[0],
      http: {
        method: request.method,
        path: request.path,
        protocol: 'HTTP/1.1',
        sourceIp: request.sourceIp.replace(/^::ffff:/, ''),
        userAgent: String(request.headers['user-agent'] ?? ''),
      },
      requestId,
      routeKey,
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now.getTime(),
    },
    ...(request.body.byteLength > 0
      ? { body: textual ? request.body.toString('utf8') : request.body.toString('base64') }
      : {}),
    isBase64Encoded: !textual,
  };
}

/** Maps a handler's result to HTTP as API Gateway does for payload format 2.0. */
export function httpApiResponse(result: unknown): HttpResponse {
  if (result !== null && typeof result === 'object' && 'statusCode' in result) {
    const { statusCode, headers, body, isBase64Encoded, cookies } = result as {
      statusCode: unknown;
      headers?: Record<string, unknown>;
      body?: unknown;
      isBase64Encoded?: boolean;
      cookies?: string[];
    };
    const outHeaders: Record<string, string> = {};
    for (const [name, value] of Object.entries(headers ?? {})) outHeaders[name] = String(value);
    if (cookies && cookies.length > 0) outHeaders['set-cookie'] = cookies.join(', ');
    const payload = typeof body === 'string' ? (isBase64Encoded ? Buffer.from(body, 'base64') : body) : '';
    return { status: Number(statusCode), headers: outHeaders, body: payload };
  }
  // No statusCode: API Gateway infers 200 and a JSON body.
  if (typeof result === 'string')
    return { status: 200, headers: { 'content-type': 'application/json' }, body: result };
  return {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(result ?? null),
  };
}

/** Adds each route of `routes` to `router`, invoking lambdas/handlers/{handler}.ts. */
export function addHttpApiRoutes(
  router: HttpRouter,
  routes: readonly HttpRouteDefinition[],
  options: HttpApiOptions,
): void {
  const load = options.loadHandler ?? loadHandler;
  const timeoutMs = options.timeoutMs ?? 29_000;
  for (const route of routes) {
    router.route(route.method, route.path, async (request) => {
      const requestId = `${randomBytes(11).toString('base64url')}=`;
      const event = httpApiEvent(route, request, options.domainName(), requestId);
      const context = lambdaContext(route.handler, timeoutMs, route.memoryMb);
      try {
        const result = await options.metrics.record(
          {
            invocationId: context.awsRequestId,
            routeKey: `${route.method} ${route.path}`,
            connectionId: '',
            requestId,
            handler: route.handler,
          },
          async () => (await load(route.handler))(event, context),
        );
        return httpApiResponse(result);
      } catch (error) {
        console.error(`[http-api] ${route.method} ${route.path} (${route.handler}) failed:`, error);
        return { status: 500, body: { message: 'Internal Server Error' } };
      }
    });
  }
}
