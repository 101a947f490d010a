/**
 * The local HTTP server on 127.0.0.1:3000: a small router that the local stand-ins for AWS
 * endpoints (Secrets Manager, SES, …) and the local HTTP API (`/auth/*`) add routes to.
 *
 * Three kinds of route:
 * - `route(method, '/auth/:action', fn)` — a method and a path (`:name` segments are parameters);
 * - `awsJsonOperation('secretsmanager.GetSecretValue', fn)` — AWS JSON 1.0/1.1 protocol:
 *   `POST /` with an `X-Amz-Target` header;
 * - `awsQueryAction('SendEmail', fn)` — AWS Query protocol: `POST /` with a form body
 *   carrying `Action=…` (SES v1).
 */
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HttpRequest {
  readonly method: string;
  /** The path without the query string, percent-decoded per segment. */
  readonly path: string;
  /** `:name` segments of the matched route. */
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly sourceIp: string;
  /** The body as UTF-8. */
  text(): string;
  /** The body parsed as JSON; throws `HttpError(400)` when it is not JSON. */
  json(): unknown;
  /** The body parsed as `application/x-www-form-urlencoded`. */
  form(): URLSearchParams;
}

export interface HttpResponse {
  readonly status: number;
  readonly headers?: Readonly<Record<string, string>>;
  /** A string or bytes are sent as they are; anything else as JSON. */
  readonly body?: unknown;
}

export type HttpRouteHandler = (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;

/** Thrown by a route handler to answer with `status` and `body` (JSON). */
export class HttpError extends Error {
  override readonly name = 'HttpError';
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(`HTTP ${status}`);
  }
}

/** An AWS JSON protocol error, e.g. `awsJsonError(400, 'ResourceNotFoundException', '…')`. */
export function awsJsonError(status: number, type: string, message: string): HttpError {
  return new HttpError(status, { __type: type, message }, { 'x-amzn-ErrorType': type });
}

interface PathRoute {
  readonly method: string;
  readonly segments: readonly string[];
  readonly handler: HttpRouteHandler;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}

function matchPath(
  pattern: readonly string[],
  segments: readonly string[],
): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i += 1) {
    const expected = pattern[i] as string;
    const actual = segments[i] as string;
    if (expected.startsWith(':')) params[expected.slice(1)] = actual;
    else if (expected !== actual) return undefined;
  }
  return params;
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  return new Promise((resolveBody, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on('data', (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) {
        reject(new HttpError(413, { message: 'Request body too large' }));
        request.destroy();
        return;
      }
      chunks.push(chunk);
    });
    request.on('end', () => resolveBody(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

function sendResponse(response: ServerResponse, result: HttpResponse): void {
  const headers: Record<string, string> = { ...result.headers };
  let payload: Buffer | undefined;
  if (typeof result.body === 'string') payload = Buffer.from(result.body, 'utf8');
  else if (Buffer.isBuffer(result.body)) payload = result.body;
  else if (result.body instanceof Uint8Array) payload = Buffer.from(result.body);
  else if (result.body !== undefined) {
    payload = Buffer.from(JSON.stringify(result.body), 'utf8');
    if (!Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) {
      headers['content-type'] = 'application/json';
    }
  }
  if (payload !== undefined) headers['content-length'] = String(payload.byteLength);
  response.writeHead(result.status, headers);
  response.end(payload);
}

/**
 * No CORS headers, as the HTTP API in AWS without `corsOrigins`: a web page the developer visits
 * cannot read anything from here (the mail outbox holds sign-up codes). And only requests for
 * this machine by name (`127.0.0.1`, `localhost`, `[::1]`), so a DNS-rebinding page cannot either.
 */
const LOCAL_HOST = /^(127\.0\.0\.1|localhost|\[::1\])(:\d+)?$/i;

/** The route table of the local HTTP server. */
export class HttpRouter {
  private readonly paths: PathRoute[] = [];
  private readonly jsonOperations = new Map<string, HttpRouteHandler>();
  private readonly queryActions = new Map<string, HttpRouteHandler>();

  /** Adds a route; `path` may hold `:name` segments. Later routes never shadow earlier ones. */
  route(method: string, path: string, handler: HttpRouteHandler): this {
    this.paths.push({ method: method.toUpperCase(), segments: splitPath(path), handler });
    return this;
  }

  /** Adds an AWS JSON protocol operation, by its `X-Amz-Target` (e.g. `secretsmanager.GetSecretValue`). */
  awsJsonOperation(target: string, handler: HttpRouteHandler): this {
    this.jsonOperations.set(target, handler);
    return this;
  }

  /** Adds an AWS Query protocol action, by the `Action` of its form body (e.g. `SendEmail`). */
  awsQueryAction(action: string, handler: HttpRouteHandler): this {
    this.queryActions.set(action, handler);
    return this;
  }

  /** Dispatches one request; unknown routes answer 404. */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      const method = (request.method ?? 'GET').toUpperCase();
      if (!LOCAL_HOST.test(request.headers.host ?? '')) {
        throw new HttpError(421, {
          message: 'This local server answers requests for 127.0.0.1 or localhost only',
        });
      }
      const body = await readBody(request);
      const segments = splitPath(url.pathname).map((segment) => decodeURIComponent(segment));
      const base = {
        method,
        path: `/${segments.join('/')}`,
        query: url.searchParams,
        headers: request.headers,
        body,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        text: () => body.toString('utf8'),
        json: (): unknown => {
          try {
            return JSON.parse(body.toString('utf8'));
          } catch {
            throw new HttpError(400, { message: 'The body is not JSON' });
          }
        },
        form: () => new URLSearchParams(body.toString('utf8')),
      };

      let handler: HttpRouteHandler | undefined;
      let params: Record<string, string> = {};
      for (const route of this.paths) {
        if (route.method !== method) continue;
        const match = matchPath(route.segments, segments);
        if (match) {
          handler = route.handler;
          params = match;
          break;
        }
      }
      if (handler === undefined && method === 'POST' && segments.length === 0) {
        const target = request.headers['x-amz-target'];
        if (typeof target === 'string') {
          handler = this.jsonOperations.get(target);
          if (handler === undefined)
            throw awsJsonError(400, 'UnknownOperationException', `Unknown operation ${target}`);
        } else {
          const action = base.form().get('Action');
          if (action !== null) handler = this.queryActions.get(action);
        }
      }
      if (handler === undefined) {
        throw new HttpError(404, { message: `No local route for ${method} ${url.pathname}` });
      }
      const result = await handler({ ...base, params });
      sendResponse(response, result);
    } catch (error) {
      if (error instanceof HttpError) {
        sendResponse(response, {
          status: error.status,
          headers: error.headers,
          body: error.body,
        });
        return;
      }
      console.error('[local-http] route failed:', error);
      sendResponse(response, {
        status: 500,
        body: { message: 'Internal server error' },
      });
    }
  }
}

export interface LocalHttpServer {
  readonly router: HttpRouter;
  readonly server: Server;
  readonly port: number;
  /** `http://127.0.0.1:{port}` */
  readonly url: string;
  /** Closes the server and every open connection. Idempotent. */
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 = a free port) and serves `router`. */
export async function startHttpServer(
  port: number,
  router: HttpRouter = new HttpRouter(),
): Promise<LocalHttpServer> {
  const server = createServer((request, response) => {
    void router.handle(request, response);
  });
  await listen(server, port);
  const actualPort = (server.address() as AddressInfo).port;
  let closing: Promise<void> | undefined;
  return {
    router,
    server,
    port: actualPort,
    url: `http://127.0.0.1:${actualPort}`,
    close: () => {
      closing ??= closeServer(server);
      return closing;
    },
  };
}

/** `server.listen` as a promise that rejects on EADDRINUSE and the like. */
export function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolveListen, reject) => {
    const onError = (error: Error) => reject(error);
    server.once('error', onError);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', onError);
      resolveListen();
    });
  });
}

/** Closes a server, dropping idle and active keep-alive connections. */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolveClose) => {
    server.close(() => resolveClose());
    server.closeAllConnections();
  });
}
