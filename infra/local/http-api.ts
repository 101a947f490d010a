/**
 * The local API Gateway HTTP API: every entry of `httpRoutes` (lambdas/routes.ts) becomes a
 * route of the local HTTP server whose handler is invoked with a payload-format 2.0 event
 * (api-gateway-events.ts) and whose result is mapped back the way API Gateway maps it.
 */
import type { HttpRouteDefinition } from '../../lambdas/routes.ts';
import { gatewayId, httpApiEvent } from './api-gateway-events.ts';
import type { HttpResponse, HttpRouter } from './http-server.ts';
import { invokeRecorded, type LambdaHandler } from './lambda-runtime.ts';
import type { LocalMetrics } from './metrics.ts';

export interface HttpApiOptions {
  readonly metrics: LocalMetrics;
  /** `127.0.0.1:{port}` of the HTTP server. */
  readonly domainName: () => string;
  readonly loadHandler?: (name: string) => Promise<LambdaHandler>;
  /** @default 29 s (API Gateway's integration timeout is 30 s) */
  readonly timeoutMs?: number;
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
  const timeoutMs = options.timeoutMs ?? 29_000;
  for (const route of routes) {
    const routeKey = `${route.method} ${route.path}`;
    router.route(route.method, route.path, async (request) => {
      const requestId = gatewayId();
      const event = httpApiEvent(route, request, options.domainName(), requestId);
      try {
        const { result } = invokeRecorded({
          definition: route,
          routeKey,
          connectionId: '',
          requestId,
          event,
          timeoutMs,
          metrics: options.metrics,
          load: options.loadHandler,
        });
        return httpApiResponse(await result);
      } catch (error) {
        console.error(`[http-api] ${routeKey} (${route.handler}) failed:`, error);
        return { status: 500, body: { message: 'Internal Server Error' } };
      }
    });
  }
}
