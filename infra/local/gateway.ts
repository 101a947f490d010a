/**
 * A local API Gateway WebSocket API: the `$connect` REQUEST authorizer, route selection on
 * `$request.body.action`, route responses, the Management API (`/@connections/{id}`) and
 * API Gateway's limits (128 KB messages, idle timeout, maximum connection duration). It runs
 * the handlers of lambdas/handlers/ with events shaped like the real ones, dispatching from
 * the route table in lambdas/routes.ts (DESIGN.md section 6 lists the behaviour it keeps).
 */
import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import {
  createServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
  STATUS_CODES,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import {
  authorizer as authorizerDefinition,
  type FunctionDefinition,
  type WebSocketRouteDefinition,
  webSocketRoutes,
} from '../../lambdas/routes.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_API_ID, LOCAL_STAGE } from './config.ts';
import { closeServer, listen } from './http-server.ts';
import { type LambdaHandler, lambdaContext, loadHandler } from './lambda-runtime.ts';
import { LocalMetrics } from './metrics.ts';

/** API Gateway's maximum WebSocket message size. */
export const MAX_MESSAGE_BYTES = 128 * 1024;
const TEN_MINUTES = 10 * 60 * 1000;
const TWO_HOURS = 2 * 60 * 60 * 1000;
/** API Gateway's integration timeout. */
const INTEGRATION_TIMEOUT_MS = 29_000;
const GOING_AWAY = 1001;

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

export interface GatewayOptions {
  /** 0 picks a free port. @default 3001 */
  readonly port?: number;
  /** @default 'local' */
  readonly stage?: string;
  /** @default 'local' */
  readonly apiId?: string;
  /** Closes a connection without inbound traffic for this long (1001 Going away). @default 10 minutes */
  readonly idleTimeoutMs?: number;
  /** Closes every connection after this long (1001 Going away). @default 2 hours */
  readonly maxConnectionMs?: number;
  /** @default 128 KB; larger messages close the socket with 1009 */
  readonly maxMessageBytes?: number;
  /** A handler running longer gets an "Endpoint request timed out" answer. @default 29 s */
  readonly integrationTimeoutMs?: number;
  /** Where invocations are recorded. @default a new LocalMetrics */
  readonly metrics?: LocalMetrics;
  /** @default the route table of lambdas/routes.ts */
  readonly routes?: readonly WebSocketRouteDefinition[];
  /** The `$connect` authorizer; null for none. @default `authorizer` of lambdas/routes.ts */
  readonly authorizer?: FunctionDefinition | null;
  /**
   * The authorizer's identity source, a query string parameter: a connection without it is
   * refused with 401 before the authorizer runs, as API Gateway does. null for none.
   * @default 'token'
   */
  readonly identitySourceQueryParameter?: string | null;
  /** @default loadHandler of lambda-runtime.ts (lambdas/handlers/{name}.ts) */
  readonly loadHandler?: (name: string) => Promise<LambdaHandler>;
  /** Sees every Management API request first; returning a fault answers with it. */
  readonly onManagementRequest?: (request: ManagementRequest) => ManagementFault | undefined;
  /** Log one line per connection and route invocation. @default false */
  readonly log?: boolean;
}

/** What the gateway knows about one connection. */
export interface ConnectionInfo {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  /** `requestContext.authorizer` of its events: `{principalId, ...context}`. */
  readonly authorizer: Readonly<Record<string, unknown>> | undefined;
  /** Frames posted to it through the Management API. */
  readonly posts: number;
}

/** Emitted before each handler invocation, with the event it gets (for tests of event shapes). */
export interface InvocationEvent {
  readonly routeKey: string;
  readonly handler: string;
  readonly connectionId: string;
  readonly event: Readonly<Record<string, unknown>>;
}

export interface DisconnectInfo {
  readonly connectionId: string;
  readonly statusCode: number;
  readonly reason: string;
}

interface Connection {
  readonly connectionId: string;
  readonly connectedAt: number;
  lastActiveAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  authorizer: Record<string, unknown> | undefined;
  ws: WebSocket | undefined;
  closed: boolean;
  posts: number;
  idleTimer?: NodeJS.Timeout;
  maxTimer?: NodeJS.Timeout;
}

/** API Gateway ids look like `Ld9sKf7iIAMCJ6w=`: 11 random bytes, base64 (URL-safe here). */
export function gatewayId(): string {
  return `${randomBytes(11).toString('base64url')}=`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `09/Apr/2015:12:34:56 +0000`, API Gateway's `requestTime`. */
function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())} +0000`;
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

/** Refuses an upgrade with a plain HTTP answer (no socket is opened). */
function refuseUpgrade(socket: Duplex, status: number, body: unknown, errorType?: string): void {
  if (socket.destroyed) return;
  const payload = typeof body === 'string' ? body : JSON.stringify(body);
  const head = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(payload)}`,
    ...(errorType ? [`x-amzn-ErrorType: ${errorType}`] : []),
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${payload}`);
  socket.once('finish', () => socket.destroy());
}

function rawToString(data: RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}

/** `$request.body.action`: the route key of a frame, before falling back to `$default`. */
export function selectRouteKey(body: string, routeKeys: ReadonlySet<string>): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return '$default';
  }
  if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
    const action = (parsed as { action?: unknown }).action;
    if (typeof action === 'string' && !action.startsWith('$') && routeKeys.has(action)) return action;
  }
  return '$default';
}

function globMatch(pattern: string, value: string): boolean {
  const regex = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${regex}$`).test(value);
}

interface PolicyStatement {
  Effect?: unknown;
  Action?: unknown;
  Resource?: unknown;
}

/** Evaluates an authorizer policy for `methodArn`: 'allow', 'deny', or 'invalid' (a 500). */
function evaluatePolicy(result: unknown, methodArn: string): 'allow' | 'deny' | 'invalid' {
  if (result === null || typeof result !== 'object') return 'invalid';
  const { principalId, policyDocument, context } = result as {
    principalId?: unknown;
    policyDocument?: { Statement?: unknown };
    context?: unknown;
  };
  if (typeof principalId !== 'string' || policyDocument === undefined || policyDocument === null)
    return 'invalid';
  if (context !== undefined && context !== null) {
    if (typeof context !== 'object') return 'invalid';
    // API Gateway refuses context values that are not string, number or boolean.
    for (const value of Object.values(context)) {
      if (!['string', 'number', 'boolean'].includes(typeof value)) return 'invalid';
    }
  }
  const statements = Array.isArray(policyDocument.Statement)
    ? (policyDocument.Statement as PolicyStatement[])
    : [policyDocument.Statement as PolicyStatement];
  const list = (value: unknown): string[] =>
    Array.isArray(value) ? value.map(String) : value === undefined ? [] : [String(value)];
  let allowed = false;
  for (const statement of statements) {
    if (statement === null || typeof statement !== 'object') return 'invalid';
    const actions = list(statement.Action);
    const resources = list(statement.Resource);
    const covers =
      actions.some((action) => globMatch(action, 'execute-api:Invoke')) &&
      resources.some((resource) => globMatch(resource, methodArn));
    if (!covers) continue;
    if (statement.Effect === 'Deny') return 'deny';
    if (statement.Effect === 'Allow') allowed = true;
  }
  return allowed ? 'allow' : 'deny';
}

function isUnauthorized(error: unknown): boolean {
  return error === 'Unauthorized' || (error instanceof Error && error.message === 'Unauthorized');
}

class IntegrationTimeout extends Error {
  override readonly name = 'IntegrationTimeout';
}

/** The local WebSocket API. Create it with `startGateway`. */
export class LocalGateway extends EventEmitter<{
  connect: [ConnectionInfo];
  disconnect: [DisconnectInfo];
  post: [{ connectionId: string; data: string }];
  invocation: [InvocationEvent];
}> {
  readonly server: Server;
  readonly metrics: LocalMetrics;
  readonly stage: string;
  readonly apiId: string;
  private readonly wss: WebSocketServer;
  private readonly connectionsById = new Map<string, Connection>();
  private readonly routeKeys: ReadonlySet<string>;
  private readonly routesByKey: ReadonlyMap<string, WebSocketRouteDefinition>;
  private readonly pending = new Set<Promise<unknown>>();
  private readonly faults: { connectionId: string; fault: ManagementFault; remaining: number }[] = [];
  private readonly options: GatewayOptions;
  private readonly load: (name: string) => Promise<LambdaHandler>;
  private closing: Promise<void> | undefined;
  private actualPort = 0;

  constructor(options: GatewayOptions = {}) {
    super();
    this.options = options;
    this.stage = options.stage ?? LOCAL_STAGE;
    this.apiId = options.apiId ?? LOCAL_API_ID;
    this.metrics = options.metrics ?? new LocalMetrics();
    this.load = options.loadHandler ?? loadHandler;
    const routes = options.routes ?? webSocketRoutes;
    this.routesByKey = new Map(routes.map((route) => [route.routeKey, route]));
    this.routeKeys = new Set(routes.map((route) => route.routeKey).filter((key) => !key.startsWith('$')));
    this.wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxMessageBytes ?? MAX_MESSAGE_BYTES,
      perMessageDeflate: false,
    });
    this.server = createServer((request, response) => {
      this.track(
        this.onHttpRequest(request, response).catch((error: unknown) => {
          console.error('[gateway] Management API request failed:', error);
          if (!response.headersSent)
            response.writeHead(500, { 'x-amzn-ErrorType': 'InternalServerErrorException' });
          response.end();
        }),
      );
    });
    this.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => {});
      this.track(this.onUpgrade(request, socket, head));
    });
  }

  /** Listens on 127.0.0.1. */
  async listen(port: number): Promise<void> {
    await listen(this.server, port);
    this.actualPort = (this.server.address() as AddressInfo).port;
  }

  get port(): number {
    return this.actualPort;
  }

  /** `ws://127.0.0.1:{port}` — clients add `?token=…`. */
  get url(): string {
    return `ws://127.0.0.1:${this.actualPort}`;
  }

  /** `http://127.0.0.1:{port}`, the Management API endpoint (`/{stage}` may be appended). */
  get managementEndpoint(): string {
    return `http://127.0.0.1:${this.actualPort}`;
  }

  /** `127.0.0.1:{port}`, the events' `requestContext.domainName`. */
  get domainName(): string {
    return `127.0.0.1:${this.actualPort}`;
  }

  /** The open connections. */
  connections(): ConnectionInfo[] {
    return [...this.connectionsById.values()].filter((c) => c.ws !== undefined && !c.closed).map(this.info);
  }

  /** One open connection, or undefined. */
  connection(connectionId: string): ConnectionInfo | undefined {
    const connection = this.connectionsById.get(connectionId);
    return connection && !connection.closed && connection.ws ? this.info(connection) : undefined;
  }

  /**
   * Makes the next `count` Management API posts to `connectionId` (or to any connection, with
   * '*') answer `status` instead of being delivered, e.g. 429 or 500. Note that the SDK retries
   * 429 and 5xx answers by itself.
   */
  failNextPosts(connectionId: string, status: number, count = 1): void {
    this.faults.push({ connectionId, fault: { status }, remaining: count });
  }

  /** Closes a connection from the server side, as `DELETE /@connections/{id}` does. */
  disconnect(connectionId: string, code = 1000, reason = ''): boolean {
    const connection = this.connectionsById.get(connectionId);
    if (!connection?.ws || connection.closed) return false;
    connection.ws.close(code, reason);
    return true;
  }

  /**
   * Closes every connection (1001 Going away, each with its `$disconnect`), waits for running
   * invocations and closes the server. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const connection of this.connectionsById.values()) {
        connection.ws?.close(GOING_AWAY, 'Going away');
      }
      // Each client answers the close, then its $disconnect runs; a silent client is cut off.
      await this.settle(3000, () => this.connectionsById.size === 0);
      for (const connection of this.connectionsById.values()) connection.ws?.terminate();
      await this.settle(2000);
      await closeServer(this.server);
      this.wss.close();
    })();
    return this.closing;
  }

  private info = (c: Connection): ConnectionInfo => ({
    connectionId: c.connectionId,
    connectedAt: c.connectedAt,
    lastActiveAt: c.lastActiveAt,
    sourceIp: c.sourceIp,
    userAgent: c.userAgent,
    authorizer: c.authorizer,
    posts: c.posts,
  });

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const forget = () => this.pending.delete(promise);
    promise.then(forget, forget);
    return promise;
  }

  /** Waits (up to `timeoutMs`) until no upgrade, invocation or disconnect is running and `done()` holds. */
  private async settle(timeoutMs: number, done: () => boolean = () => true): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while ((this.pending.size > 0 || !done()) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private log(line: string): void {
    if (this.options.log) console.log(`[gateway] ${line}`);
  }

  private methodArn(routeKey: string): string {
    return `arn:aws:execute-api:local:${LOCAL_ACCOUNT_ID}:${this.apiId}/${this.stage}/${routeKey}`;
  }

  private requestContext(
    connection: Connection,
    routeKey: string,
    eventType: 'CONNECT' | 'MESSAGE' | 'DISCONNECT',
    requestId: string,
  ): Record<string, unknown> {
    const now = Date.now();
    return {
      routeKey,
      eventType,
      extendedRequestId: requestId,
      requestTime: requestTime(now),
      messageDirection: 'IN',
      stage: this.stage,
      connectedAt: connection.connectedAt,
      requestTimeEpoch: now,
      identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
      requestId,
      domainName: this.domainName,
      connectionId: connection.connectionId,
      apiId: this.apiId,
    };
  }

  /** Invokes one handler, recorded in metrics, bounded by the integration timeout. */
  private async invoke(
    definition: FunctionDefinition,
    routeKey: string,
    connectionId: string,
    requestId: string,
    event: Record<string, unknown>,
  ): Promise<unknown> {
    this.emit('invocation', { routeKey, handler: definition.handler, connectionId, event });
    const timeoutMs = this.options.integrationTimeoutMs ?? INTEGRATION_TIMEOUT_MS;
    const context = lambdaContext(definition.handler, timeoutMs, definition.memoryMb);
    const started = Date.now();
    const run = this.metrics.record(
      { invocationId: context.awsRequestId, routeKey, connectionId, requestId, handler: definition.handler },
      async () => {
        const handler = await this.load(definition.handler);
        return handler(event, context);
      },
    );
    this.track(run).catch(() => {});
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new IntegrationTimeout(`${routeKey} timed out`)), timeoutMs);
    });
    try {
      return await Promise.race([run, timeout]);
    } catch (error) {
      if (!isUnauthorized(error)) {
        console.error(`[gateway] ${routeKey} (${definition.handler}) failed:`, error);
      }
      throw error;
    } finally {
      clearTimeout(timer);
      const record = this.metrics.invocations.find((r) => r.invocationId === context.awsRequestId);
      this.log(
        `${routeKey} ${connectionId} ${Date.now() - started} ms` +
          (record ? `, ${record.dynamoRequests} DynamoDB, ${record.managementPosts} posts` : ''),
      );
    }
  }

  private async onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (this.closing) {
      refuseUpgrade(socket, 503, { message: 'Service Unavailable' });
      return;
    }
    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const path = url.pathname.replace(/\/+$/, '');
    if (path !== '' && path !== `/${this.stage}`) {
      refuseUpgrade(socket, 403, { message: 'Forbidden' }, 'ForbiddenException');
      return;
    }
    if (request.headers.upgrade?.toLowerCase() !== 'websocket' || !request.headers['sec-websocket-key']) {
      refuseUpgrade(socket, 400, { message: 'Bad Request' });
      return;
    }

    const headers: Record<string, string> = {};
    const multiValueHeaders: Record<string, string[]> = {};
    for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
      const name = request.rawHeaders[i] as string;
      const value = request.rawHeaders[i + 1] as string;
      headers[name] = value;
      multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
    }
    const sourceIp = request.socket.remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
    for (const [name, value] of [
      ['X-Forwarded-For', sourceIp],
      ['X-Forwarded-Port', String(this.actualPort)],
      ['X-Forwarded-Proto', 'http'],
      [
        'X-Amzn-Trace-Id',
        `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString('hex')}`,
      ],
    ] as const) {
      headers[name] = value;
      multiValueHeaders[name] = [value];
    }
    const queryStringParameters: Record<string, string> = {};
    const multiValueQueryStringParameters: Record<string, string[]> = {};
    for (const [name, value] of url.searchParams) {
      queryStringParameters[name] = value;
      multiValueQueryStringParameters[name] = [...(multiValueQueryStringParameters[name] ?? []), value];
    }
    const hasQuery = url.searchParams.size > 0;

    const connection: Connection = {
      connectionId: gatewayId(),
      connectedAt: Date.now(),
      lastActiveAt: Date.now(),
      sourceIp,
      userAgent: request.headers['user-agent'] ?? '',
      headers,
      multiValueHeaders,
      authorizer: undefined,
      ws: undefined,
      closed: false,
      posts: 0,
    };
    const { connectionId } = connection;
    const requestId = gatewayId();
    const connectDefinition = this.routesByKey.get('$connect');

    // 1. The authorizer, when the identity source is present (API Gateway answers 401 otherwise).
    const authorizer = this.options.authorizer === undefined ? authorizerDefinition : this.options.authorizer;
    if (authorizer !== null) {
      const identity = this.options.identitySourceQueryParameter ?? 'token';
      if (identity !== null && !queryStringParameters[identity]) {
        this.log(`$connect refused: no ${identity} query string parameter (401)`);
        refuseUpgrade(socket, 401, { message: 'Unauthorized' }, 'UnauthorizedException');
        return;
      }
      const methodArn = this.methodArn('$connect');
      const authorizerEvent = {
        type: 'REQUEST',
        methodArn,
        headers,
        multiValueHeaders,
        queryStringParameters,
        multiValueQueryStringParameters,
        stageVariables: {},
        requestContext: this.requestContext(connection, '$connect', 'CONNECT', requestId),
      };
      let result: unknown;
      try {
        result = await this.invoke(authorizer, '$authorizer', connectionId, requestId, authorizerEvent);
      } catch (error) {
        if (isUnauthorized(error)) {
          this.log('$connect refused by the authorizer (401)');
          refuseUpgrade(socket, 401, { message: 'Unauthorized' }, 'UnauthorizedException');
        } else {
          refuseUpgrade(socket, 500, { message: null }, 'AuthorizerFunctionException');
        }
        return;
      }
      const verdict = evaluatePolicy(result, methodArn);
      if (verdict === 'invalid') {
        console.error('[gateway] the authorizer returned an invalid policy or context:', result);
        refuseUpgrade(socket, 500, { message: null }, 'AuthorizerConfigurationException');
        return;
      }
      if (verdict === 'deny') {
        this.log('$connect refused by the authorizer policy (403)');
        refuseUpgrade(
          socket,
          403,
          { Message: 'User is not authorized to access this resource with an explicit deny' },
          'AccessDeniedException',
        );
        return;
      }
      const { principalId, context } = result as { principalId: string; context?: Record<string, unknown> };
      connection.authorizer = { ...context, principalId, integrationLatency: 0 };
    }

    // 2. The $connect route: anything but a 2xx refuses the upgrade with that status.
    if (connectDefinition) {
      const event = {
        headers,
        multiValueHeaders,
        queryStringParameters: hasQuery ? queryStringParameters : undefined,
        multiValueQueryStringParameters: hasQuery ? multiValueQueryStringParameters : undefined,
        requestContext: this.withAuthorizer(
          connection,
          this.requestContext(connection, '$connect', 'CONNECT', requestId),
        ),
        isBase64Encoded: false,
      };
      let result: unknown;
      try {
        result = await this.invoke(connectDefinition, '$connect', connectionId, requestId, event);
      } catch {
        refuseUpgrade(socket, 500, { message: 'Internal server error', connectionId, requestId });
        return;
      }
      const status =
        result !== null && typeof result === 'object'
          ? (result as { statusCode?: unknown }).statusCode
          : undefined;
      if (typeof status !== 'number' || status < 200 || status > 299) {
        const refusal = typeof status === 'number' && status >= 300 && status <= 599 ? status : 500;
        const body = (result as { body?: unknown } | null)?.body;
        this.log(`$connect refused by the route (${refusal})`);
        refuseUpgrade(socket, refusal, typeof body === 'string' ? body : { message: STATUS_CODES[refusal] });
        return;
      }
    }

    // 3. The handshake. The client may have gone meanwhile: then it was connected and is gone.
    if (socket.destroyed || !socket.writable || this.closing) {
      socket.destroy();
      this.connectionsById.set(connectionId, connection);
      await this.onClosed(connection, 1006, '');
      return;
    }
    this.connectionsById.set(connectionId, connection);
    await new Promise<void>((resolveUpgrade) => {
      let upgraded = false;
      socket.once('close', () => {
        if (!upgraded) {
          resolveUpgrade();
          void this.track(this.onClosed(connection, 1006, ''));
        }
      });
      this.wss.handleUpgrade(request, socket, head, (ws) => {
        upgraded = true;
        this.onOpen(connection, ws);
        resolveUpgrade();
      });
    });
  }

  private withAuthorizer(
    connection: Connection,
    requestContext: Record<string, unknown>,
  ): Record<string, unknown> {
    return connection.authorizer
      ? { ...requestContext, authorizer: { ...connection.authorizer } }
      : requestContext;
  }

  private onOpen(connection: Connection, ws: WebSocket): void {
    connection.ws = ws;
    const idleMs = this.options.idleTimeoutMs ?? TEN_MINUTES;
    const maxMs = this.options.maxConnectionMs ?? TWO_HOURS;
    connection.idleTimer = setTimeout(() => ws.close(GOING_AWAY, 'Going away'), idleMs);
    connection.maxTimer = setTimeout(() => ws.close(GOING_AWAY, 'Going away'), maxMs);
    ws.on('error', () => {}); // e.g. "Max payload size exceeded": ws closes with 1009 itself
    ws.on('ping', () => this.touch(connection));
    ws.on('message', (data, isBinary) => {
      this.touch(connection);
      this.track(this.onMessage(connection, rawToString(data), isBinary));
    });
    ws.on('close', (code, reason) => {
      this.track(this.onClosed(connection, code, reason.toString('utf8')));
    });
    this.log(
      `connected ${connection.connectionId} (${String(connection.authorizer?.principalId ?? 'anonymous')})`,
    );
    this.emit('connect', this.info(connection));
  }

  private touch(connection: Connection): void {
    connection.lastActiveAt = Date.now();
    connection.idleTimer?.refresh();
  }

  private async onMessage(connection: Connection, body: string, _isBinary: boolean): Promise<void> {
    const routeKey = selectRouteKey(body, this.routeKeys);
    const requestId = gatewayId();
    const { connectionId } = connection;
    const definition = this.routesByKey.get(routeKey);
    const reply = (frame: string) => {
      if (connection.ws?.readyState === WebSocket.OPEN) connection.ws.send(frame);
    };
    const gatewayError = (message: string) =>
      reply(`{"message": "${message}", "connectionId":"${connectionId}", "requestId":"${requestId}"}`);
    if (definition === undefined) {
      gatewayError('Forbidden'); // no route and no $default
      return;
    }
    const event = {
      requestContext: this.withAuthorizer(connection, {
        ...this.requestContext(connection, routeKey, 'MESSAGE', requestId),
        messageId: gatewayId(),
      }),
      body,
      isBase64Encoded: false,
    };
    let result: unknown;
    try {
      result = await this.invoke(definition, routeKey, connectionId, requestId, event);
    } catch (error) {
      gatewayError(
        error instanceof IntegrationTimeout ? 'Endpoint request timed out' : 'Internal server error',
      );
      return;
    }
    if (result === null || typeof result !== 'object') {
      gatewayError('Internal server error');
      return;
    }
    const responseBody = (result as { body?: unknown }).body;
    if (typeof responseBody !== 'string') return;
    // API Gateway cannot deliver a message over its 128 KB limit; the socket closes (DESIGN.md §6).
    if (Buffer.byteLength(responseBody) > (this.options.maxMessageBytes ?? MAX_MESSAGE_BYTES)) {
      connection.ws?.close(1009, 'Message too big');
      return;
    }
    reply(responseBody);
  }

  private async onClosed(connection: Connection, statusCode: number, reason: string): Promise<void> {
    if (connection.closed) return;
    connection.closed = true;
    clearTimeout(connection.idleTimer);
    clearTimeout(connection.maxTimer);
    const { connectionId } = connection;
    const definition = this.routesByKey.get('$disconnect');
    if (definition) {
      const requestId = gatewayId();
      const event = {
        headers: connection.headers,
        multiValueHeaders: connection.multiValueHeaders,
        requestContext: this.withAuthorizer(connection, {
          ...this.requestContext(connection, '$disconnect', 'DISCONNECT', requestId),
          disconnectStatusCode: statusCode,
          disconnectReason: reason,
        }),
        isBase64Encoded: false,
      };
      try {
        await this.invoke(definition, '$disconnect', connectionId, requestId, event);
      } catch {
        // $disconnect is best effort, as in API Gateway
      }
    }
    this.connectionsById.delete(connectionId);
    this.log(`disconnected ${connectionId} (${statusCode}${reason ? ` ${reason}` : ''})`);
    this.emit('disconnect', { connectionId, statusCode, reason });
  }

  // The Management API: /@connections/{id} and /{stage}/@connections/{id}.
  private async onHttpRequest(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const send = (status: number, body?: unknown, errorType?: string) => {
      const payload = body === undefined ? '' : JSON.stringify(body);
      const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(payload)) };
      if (body !== undefined) headers['content-type'] = 'application/json';
      if (errorType) headers['x-amzn-ErrorType'] = errorType;
      response.writeHead(status, headers);
      response.end(payload);
    };
    const fail = (status: number, message?: string, errorType = ERROR_TYPES[status] ?? 'UnknownError') =>
      send(status, { message: message ?? null }, errorType);

    const url = new URL(request.url ?? '/', 'http://127.0.0.1');
    const match = /^(?:\/([^/]+))?\/@connections\/([^/]+)\/?$/.exec(url.pathname);
    const method = request.method ?? 'GET';
    if (match === null || (match[1] !== undefined && match[1] !== this.stage)) {
      if (method === 'GET' && (url.pathname === '/' || url.pathname === `/${this.stage}`)) {
        send(426, { message: 'This is a WebSocket endpoint: connect with ws://…/?token=…' });
      } else {
        fail(403, 'Missing Authentication Token', 'MissingAuthenticationTokenException');
      }
      return;
    }
    if (method !== 'POST' && method !== 'GET' && method !== 'DELETE') {
      fail(403, 'Missing Authentication Token', 'MissingAuthenticationTokenException');
      return;
    }
    let connectionId: string;
    try {
      connectionId = decodeURIComponent(match[2] as string);
    } catch {
      fail(400, 'Invalid connection id');
      return;
    }
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);

    const fault =
      this.options.onManagementRequest?.({ method, connectionId, body }) ??
      this.takeFault(method, connectionId);
    if (fault) {
      fail(fault.status, fault.message, fault.errorType);
      return;
    }
    const connection = this.connectionsById.get(connectionId);
    const ws = connection?.ws;
    // Nothing exists for the Management API until $connect has returned; a closing socket is gone.
    if (
      connection === undefined ||
      connection.closed ||
      ws === undefined ||
      ws.readyState !== WebSocket.OPEN
    ) {
      fail(410, undefined, 'GoneException');
      return;
    }
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
    if (body.byteLength > (this.options.maxMessageBytes ?? MAX_MESSAGE_BYTES)) {
      fail(413, 'Message too long', 'PayloadTooLargeException');
      return;
    }
    connection.posts += 1;
    const data = body.toString('utf8');
    ws.send(data);
    this.emit('post', { connectionId, data });
    send(200);
  }

  private takeFault(method: string, connectionId: string): ManagementFault | undefined {
    if (method !== 'POST') return undefined;
    const index = this.faults.findIndex((f) => f.connectionId === connectionId || f.connectionId === '*');
    const entry = this.faults[index];
    if (entry === undefined) return undefined;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.faults.splice(index, 1);
    return entry.fault;
  }
}

/** Creates the gateway and listens on 127.0.0.1:`options.port` (default 3001, 0 = free). */
export async function startGateway(options: GatewayOptions = {}): Promise<LocalGateway> {
  const gateway = new LocalGateway(options);
  await gateway.listen(options.port ?? 3001);
  return gateway;
}
