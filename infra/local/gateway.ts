/**
 * A local API Gateway WebSocket API: route selection on `$request.body.action`, route
 * responses, and the life of each connection from its handshake to its `$disconnect`. It runs
 * the handlers of lambdas/handlers/ with events shaped like the real ones, dispatching from the
 * route table in lambdas/routes.ts. Its parts: the `$connect` handshake and authorizer
 * (gateway-upgrade.ts), the events (api-gateway-events.ts), the Management API
 * (management-api.ts) and API Gateway's limits (gateway-limits.ts).
 */
import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { type RawData, WebSocket, WebSocketServer } from 'ws';
import {
  authorizer as authorizerDefinition,
  type FunctionDefinition,
  timeoutMsOf,
  type WebSocketRouteDefinition,
  webSocketRoutes,
} from '../../lambdas/routes.ts';
import { disconnectEvent, gatewayId, messageEvent } from './api-gateway-events.ts';
import { isUnauthorized } from './authorizer-policy.ts';
import { LOCAL_API_ID, LOCAL_STAGE } from './config.ts';
import { type Connection, type ConnectionInfo, connectionInfo, isOpen } from './gateway-connection.ts';
import {
  exceedsMessageLimit,
  type GatewayLimits,
  GOING_AWAY,
  gatewayLimits,
  IntegrationTimeout,
  MESSAGE_TOO_BIG,
  startConnectionClocks,
  stopConnectionClocks,
  touch,
  UNSUPPORTED_DATA,
  withinFunctionTimeout,
  withinIntegrationTimeout,
} from './gateway-limits.ts';
import { type Admission, admitConnection } from './gateway-upgrade.ts';
import { closeServer, listen } from './http-server.ts';
import { invokeRecorded, type LambdaHandler } from './lambda-runtime.ts';
import { ManagementApi, type ManagementFault, type ManagementRequest } from './management-api.ts';
import { LocalMetrics } from './metrics.ts';

export type { ConnectionInfo } from './gateway-connection.ts';
export type { ManagementFault, ManagementRequest } from './management-api.ts';

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
  /** @default 128 KB; a larger message to the client closes the socket with 1009 */
  readonly maxMessageBytes?: number;
  /** @default 32 KB; a larger client frame closes the socket with 1009 */
  readonly maxClientFrameBytes?: number;
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
  private readonly options: GatewayOptions;
  private readonly limits: GatewayLimits;
  /**
   * Every function's timeout, instead of each one's own (lambdas/routes.ts): for tests that need
   * a function to time out in seconds. Undefined: as the CDK stack sets them.
   */
  functionTimeoutMs: number | undefined;
  private readonly admission: Admission;
  private readonly managementApi: ManagementApi;
  private closing: Promise<void> | undefined;
  private actualPort = 0;

  constructor(options: GatewayOptions = {}) {
    super();
    this.options = options;
    this.stage = options.stage ?? LOCAL_STAGE;
    this.apiId = options.apiId ?? LOCAL_API_ID;
    this.metrics = options.metrics ?? new LocalMetrics();
    this.limits = gatewayLimits(options);
    const routes = options.routes ?? webSocketRoutes;
    this.routesByKey = new Map(routes.map((route) => [route.routeKey, route]));
    this.routeKeys = new Set(routes.map((route) => route.routeKey).filter((key) => !key.startsWith('$')));
    this.admission = {
      api: this,
      authorizer: options.authorizer === undefined ? authorizerDefinition : options.authorizer,
      identitySource:
        options.identitySourceQueryParameter === undefined ? 'token' : options.identitySourceQueryParameter,
      connectRoute: this.routesByKey.get('$connect'),
      isClosing: () => this.closing !== undefined,
      invoke: (...args) => this.invoke(...args),
      log: (line) => this.log(line),
    };
    this.managementApi = new ManagementApi({
      stage: this.stage,
      limits: this.limits,
      connections: this.connectionsById,
      onRequest: options.onManagementRequest,
      onPost: (connectionId, data) => this.emit('post', { connectionId, data }),
    });
    this.wss = new WebSocketServer({
      noServer: true,
      // ws closes the socket with 1009 itself when a client message is larger.
      maxPayload: this.limits.maxClientFrameBytes,
      perMessageDeflate: false,
    });
    this.server = createServer((request, response) => {
      this.track(this.managementApi.handle(request, response));
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
    return [...this.connectionsById.values()].filter(isOpen).map(connectionInfo);
  }

  /** One open connection, or undefined. */
  connection(connectionId: string): ConnectionInfo | undefined {
    const connection = this.connectionsById.get(connectionId);
    return connection && isOpen(connection) ? connectionInfo(connection) : undefined;
  }

  /**
   * Makes the next `count` Management API posts to `connectionId` (or to any connection, with
   * '*') answer `status` instead of being delivered, e.g. 429 or 500. Note that the SDK retries
   * 429 and 5xx answers by itself.
   */
  failNextPosts(connectionId: string, status: number, count = 1): void {
    this.managementApi.failNextPosts(connectionId, status, count);
  }

  /**
   * Makes the next `count` Management API posts to `connectionId` (or to any, with '*') wait
   * `delayMs` before they are delivered and answered: a post that hangs. A caller that gives up
   * first has nothing delivered.
   */
  delayNextPosts(connectionId: string, delayMs: number, count = 1): void {
    this.managementApi.delayNextPosts(connectionId, delayMs, count);
  }

  /** Closes a connection from the server side, as `DELETE /@connections/{id}` does. */
  disconnect(connectionId: string, code = 1000, reason = ''): boolean {
    const connection = this.connectionsById.get(connectionId);
    if (connection === undefined || !isOpen(connection)) return false;
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

  /** Invokes one handler, recorded in metrics, bounded by the integration timeout. */
  private async invoke(
    definition: FunctionDefinition,
    routeKey: string,
    connectionId: string,
    requestId: string,
    event: Record<string, unknown>,
  ): Promise<unknown> {
    this.emit('invocation', { routeKey, handler: definition.handler, connectionId, event });
    const functionTimeoutMs = this.functionTimeoutMs ?? timeoutMsOf(definition);
    const timeoutMs = this.limits.integrationTimeoutMs;
    const started = Date.now();
    const { result, context } = invokeRecorded({
      definition,
      routeKey,
      connectionId,
      requestId,
      event,
      timeoutMs: Math.min(timeoutMs, functionTimeoutMs),
      metrics: this.metrics,
      load: this.options.loadHandler,
    });
    this.track(result).catch(() => {});
    try {
      // Whichever ends first: Lambda's function timeout (then "Internal server error") or API
      // Gateway's integration timeout ("Endpoint request timed out").
      return await withinIntegrationTimeout(
        withinFunctionTimeout(result, functionTimeoutMs, definition.handler),
        timeoutMs,
        routeKey,
      );
    } catch (error) {
      if (!isUnauthorized(error)) {
        console.error(`[gateway] ${routeKey} (${definition.handler}) failed:`, error);
      }
      throw error;
    } finally {
      const record = this.metrics.invocations.find((r) => r.invocationId === context.awsRequestId);
      this.log(
        `${routeKey} ${connectionId} ${Date.now() - started} ms` +
          (record ? `, ${record.dynamoRequests} DynamoDB, ${record.managementPosts} posts` : ''),
      );
    }
  }

  private async onUpgrade(request: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const connection = await admitConnection(this.admission, request, socket);
    if (connection === undefined) return;
    const { connectionId } = connection;
    // The client may have gone meanwhile: then it was connected and is gone.
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

  private onOpen(connection: Connection, ws: WebSocket): void {
    connection.ws = ws;
    startConnectionClocks(connection, ws, this.limits);
    ws.on('error', () => {}); // e.g. "Max payload size exceeded": ws closes with 1009 itself
    ws.on('ping', () => touch(connection));
    ws.on('message', (data, isBinary) => {
      touch(connection);
      // API Gateway does not route binary frames: it closes the connection with 1003.
      if (isBinary) {
        ws.close(UNSUPPORTED_DATA, 'Unsupported data');
        return;
      }
      this.track(this.onMessage(connection, rawToString(data)));
    });
    ws.on('close', (code, reason) => {
      this.track(this.onClosed(connection, code, reason.toString('utf8')));
    });
    this.log(
      `connected ${connection.connectionId} (${String(connection.authorizer?.principalId ?? 'anonymous')})`,
    );
    this.emit('connect', connectionInfo(connection));
  }

  private async onMessage(connection: Connection, body: string): Promise<void> {
    const routeKey = selectRouteKey(body, this.routeKeys);
    const requestId = gatewayId();
    const definition = this.routesByKey.get(routeKey);
    if (definition === undefined) {
      this.sendGatewayError(connection, requestId, 'Forbidden'); // no route and no $default
      return;
    }
    const event = messageEvent(this, connection, routeKey, requestId, body);
    let result: unknown;
    try {
      result = await this.invoke(definition, routeKey, connection.connectionId, requestId, event);
    } catch (error) {
      const message =
        error instanceof IntegrationTimeout ? 'Endpoint request timed out' : 'Internal server error';
      this.sendGatewayError(connection, requestId, message);
      return;
    }
    // A one-way route has no route response: API Gateway drops whatever the handler returned.
    if (definition.oneWay === true) return;
    this.sendRouteResponse(connection, requestId, result);
  }

  /** The route response: the `body` of the handler's result, if it has one. */
  private sendRouteResponse(connection: Connection, requestId: string, result: unknown): void {
    if (result === null || typeof result !== 'object') {
      this.sendGatewayError(connection, requestId, 'Internal server error');
      return;
    }
    const body = (result as { body?: unknown }).body;
    if (typeof body !== 'string') return;
    // API Gateway cannot deliver a message over its 128 KB limit; the socket closes.
    if (exceedsMessageLimit(body, this.limits)) {
      connection.ws?.close(MESSAGE_TOO_BIG, 'Message too big');
      return;
    }
    this.send(connection, body);
  }

  /** API Gateway's own answer to a frame it could not route or whose integration failed. */
  private sendGatewayError(connection: Connection, requestId: string, message: string): void {
    const { connectionId } = connection;
    this.send(
      connection,
      `{"message": "${message}", "connectionId":"${connectionId}", "requestId":"${requestId}"}`,
    );
  }

  private send(connection: Connection, frame: string): void {
    if (connection.ws?.readyState === WebSocket.OPEN) connection.ws.send(frame);
  }

  private async onClosed(connection: Connection, statusCode: number, reason: string): Promise<void> {
    if (connection.closed) return;
    connection.closed = true;
    stopConnectionClocks(connection);
    const { connectionId } = connection;
    const definition = this.routesByKey.get('$disconnect');
    if (definition) {
      const requestId = gatewayId();
      const event = disconnectEvent(this, connection, requestId, statusCode, reason);
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
}

/** Creates the gateway and listens on 127.0.0.1:`options.port` (default 3001, 0 = free). */
export async function startGateway(options: GatewayOptions = {}): Promise<LocalGateway> {
  const gateway = new LocalGateway(options);
  await gateway.listen(options.port ?? 3001);
  return gateway;
}
