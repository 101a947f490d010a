/**
 * The local API Gateway Management API, at `/@connections/{id}` and `/{stage}/@connections/{id}`:
 * POST sends a frame to the connection, GET describes it, DELETE closes it. A connection that is
 * not open (not yet past `$connect`, closing, or gone) is a 410 GoneException, as in AWS. Faults
 * can be injected in front of it, to test how the functions take a throttled, failing or hanging post.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebSocket } from 'ws';
import { type Connection, isOpen } from './gateway-connection.ts';
import { exceedsMessageLimit, type GatewayLimits } from './gateway-limits.ts';

export interface ManagementRequest {
  readonly method: 'POST' | 'GET' | 'DELETE';
  readonly connectionId: string;
  readonly body: Buffer;
}

/** A fault the Management API answers instead of doing its work. */
export interface ManagementFault {
  readonly status: number;
  /** The `x-amzn-ErrorType`; derived from the status when absent. */
  readonly errorType?: string;
  readonly message?: string;
}

export interface ManagementApiOptions {
  readonly stage: string;
  readonly limits: GatewayLimits;
  /** The gateway's connections, by id. */
  readonly connections: ReadonlyMap<string, Connection>;
  /** Sees every request first; returning a fault answers with it. */
  readonly onRequest?: (request: ManagementRequest) => ManagementFault | undefined;
  /** Called once a frame has been posted to a connection. */
  readonly onPost: (connectionId: string, data: string) => void;
}

const ERROR_TYPES: Record<number, string> = {
  400: 'BadRequestException',
  403: 'ForbiddenException',
  404: 'NotFoundException',
  410: 'GoneException',
  413: 'PayloadTooLargeException',
  429: 'LimitExceededException',
  500: 'InternalServerErrorException',
  502: 'BadGatewayException',
  503: 'ServiceUnavailableException',
  504: 'GatewayTimeoutException',
};

const CONNECTION_PATH = /^(?:\/([^/]+))?\/@connections\/([^/]+)\/?$/;

type Send = (status: number, body?: unknown, errorType?: string) => void;

/** Answers with a JSON body (none when `body` is undefined). */
function sender(response: ServerResponse): Send {
  return (status, body, errorType) => {
    const payload = body === undefined ? '' : JSON.stringify(body);
    const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(payload)) };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (errorType) headers['x-amzn-ErrorType'] = errorType;
    response.writeHead(status, headers);
    response.end(payload);
  };
}

/** Answers an error as API Gateway does: `{message}` and the `x-amzn-ErrorType` header. */
function fail(
  send: Send,
  status: number,
  message?: string,
  errorType = ERROR_TYPES[status] ?? 'UnknownError',
): void {
  send(status, { message: message ?? null }, errorType);
}

async function readBody(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export class ManagementApi {
  private readonly options: ManagementApiOptions;
  private readonly faults: { connectionId: string; fault: ManagementFault; remaining: number }[] = [];
  private readonly delays: { connectionId: string; delayMs: number; remaining: number }[] = [];

  constructor(options: ManagementApiOptions) {
    this.options = options;
  }

  /** Makes the next `count` posts to `connectionId` (or to any, with '*') answer `status`. */
  failNextPosts(connectionId: string, status: number, count = 1): void {
    this.faults.push({ connectionId, fault: { status }, remaining: count });
  }

  /**
   * Makes the next `count` posts to `connectionId` (or to any, with '*') wait `delayMs` before
   * they are served; a caller that gives up first (closes the request) has nothing delivered.
   */
  delayNextPosts(connectionId: string, delayMs: number, count = 1): void {
    this.delays.push({ connectionId, delayMs, remaining: count });
  }

  /** Answers one HTTP request to the gateway's port (anything but a WebSocket upgrade). */
  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    try {
      await this.answer(request, response, sender(response));
    } catch (error) {
      console.error('[gateway] Management API request failed:', error);
      if (!response.headersSent)
        response.writeHead(500, { 'x-amzn-ErrorType': 'InternalServerErrorException' });
      response.end();
    }
  }

  private async answer(request: IncomingMessage, response: ServerResponse, send: Send): Promise<void> {
    const target = this.target(request, send);
    if (target === undefined) return;
    const { method, connectionId } = target;
    const body = await readBody(request);
    const fault =
      this.options.onRequest?.({ method, connectionId, body }) ?? this.takeFault(method, connectionId);
    if (fault) {
      fail(send, fault.status, fault.message, fault.errorType);
      return;
    }
    const delayMs = takeNext(this.delays, method, connectionId)?.delayMs;
    if (delayMs !== undefined && !(await waitUnlessClosed(response, delayMs))) return;
    this.serve(target, body, send);
  }

  /** The method and connection of a Management API request; undefined once anything else is answered. */
  private target(request: IncomingMessage, send: Send): Omit<ManagementRequest, 'body'> | undefined {
    const { stage } = this.options;
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const match = CONNECTION_PATH.exec(url.pathname);
    const method = request.method ?? 'GET';
    if (match === null || (match[1] !== undefined && match[1] !== stage)) {
      if (method === 'GET' && (url.pathname === '/' || url.pathname === `/${stage}`)) {
        send(426, { message: 'This is a WebSocket endpoint: connect with ws://…/?token=…' });
      } else {
        fail(send, 403, 'Missing Authentication Token', 'MissingAuthenticationTokenException');
      }
      return undefined;
    }
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      fail(send, 403, 'Missing Authentication Token', 'MissingAuthenticationTokenException');
      return undefined;
    }
    try {
      return { method, connectionId: decodeURIComponent(match[2] as string) };
    } catch {
      fail(send, 400, 'Invalid connection id');
      return undefined;
    }
  }

  private serve({ method, connectionId }: Omit<ManagementRequest, 'body'>, body: Buffer, send: Send): void {
    const connection = this.options.connections.get(connectionId);
    // Nothing exists for the Management API until $connect has returned; a closing socket is gone.
    if (connection === undefined || !isOpen(connection) || connection.ws.readyState !== WebSocket.OPEN) {
      fail(send, 410, undefined, 'GoneException');
      return;
    }
    const { ws } = connection;
    if (method === 'GET') {
      send(200, {
        connectedAt: new Date(connection.connectedAt).toISOString(),
        identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
        lastActiveAt: new Date(connection.lastActiveAt).toISOString(),
      });
      return;
    }
    if (method === 'DELETE') {
      ws.close(1000, '');
      send(204);
      return;
    }
    if (exceedsMessageLimit(body, this.options.limits)) {
      fail(send, 413, 'Message too long', 'PayloadTooLargeException');
      return;
    }
    connection.posts += 1;
    const data = body.toString('utf8');
    ws.send(data);
    this.options.onPost(connectionId, data);
    send(200);
  }

  private takeFault(method: string, connectionId: string): ManagementFault | undefined {
    return takeNext(this.faults, method, connectionId)?.fault;
  }
}

/** Uses up one of the first entry for a post to `connectionId` (or '*'), dropping it when spent. */
function takeNext<T extends { connectionId: string; remaining: number }>(
  entries: T[],
  method: string,
  connectionId: string,
): T | undefined {
  if (method !== 'POST') return undefined;
  const index = entries.findIndex((e) => e.connectionId === connectionId || e.connectionId === '*');
  const entry = entries[index];
  if (entry === undefined) return undefined;
  entry.remaining -= 1;
  if (entry.remaining <= 0) entries.splice(index, 1);
  return entry;
}

/** Waits `ms`; resolves false as soon as the caller closes the connection instead. */
function waitUnlessClosed(response: ServerResponse, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const closed = () => {
      clearTimeout(timer);
      resolve(false);
    };
    const timer = setTimeout(() => {
      response.off('close', closed);
      resolve(!response.destroyed);
    }, ms);
    response.once('close', closed);
  });
}
