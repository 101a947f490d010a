/**
 * The `$connect` handshake of the local gateway, in API Gateway's order: the request itself, the
 * authorizer's identity source (a missing one is a 401 before the authorizer runs), the REQUEST
 * authorizer and the IAM policy it returns, then the `$connect` route, whose non-2xx answer
 * refuses the connection. A refused upgrade gets a plain HTTP answer and no socket.
 */
import { type IncomingMessage, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FunctionDefinition, WebSocketRouteDefinition } from '../../lambdas/routes.ts';
import {
  authorizerEvent,
  connectEvent,
  gatewayId,
  type HandshakeRequest,
  readHandshake,
  type WebSocketApiEndpoint,
} from './api-gateway-events.ts';
import { evaluatePolicy, isUnauthorized } from './authorizer-policy.ts';
import { type Connection, newConnection } from './gateway-connection.ts';

/** Runs one function for the gateway: recorded, bounded by the integration timeout. */
export type Invoke = (
  definition: FunctionDefinition,
  routeKey: string,
  connectionId: string,
  requestId: string,
  event: Record<string, unknown>,
) => Promise<unknown>;

/** What the handshake needs from the gateway. */
export interface Admission {
  readonly api: WebSocketApiEndpoint;
  /** The `$connect` authorizer; null for none. */
  readonly authorizer: FunctionDefinition | null;
  /** The query string parameter the authorizer's identity source names; null for none. */
  readonly identitySource: string | null;
  /** The `$connect` route, if the route table has one. */
  readonly connectRoute: WebSocketRouteDefinition | undefined;
  readonly isClosing: () => boolean;
  readonly invoke: Invoke;
  readonly log: (line: string) => void;
}

/** The HTTP answer to a refused upgrade. */
interface Refusal {
  readonly status: number;
  /** Sent as is when a string, as JSON otherwise. */
  readonly body: unknown;
  /** The `x-amzn-ErrorType` header. */
  readonly errorType?: string;
}

const UNAUTHORIZED: Refusal = {
  status: 401,
  body: { message: 'Unauthorized' },
  errorType: 'UnauthorizedException',
};

/**
 * Runs the handshake up to the socket: the admitted connection (with its `authorizer` context),
 * or undefined when the upgrade has been refused.
 */
export async function admitConnection(
  admission: Admission,
  request: IncomingMessage,
  socket: Duplex,
): Promise<Connection | undefined> {
  if (admission.isClosing()) {
    refuseUpgrade(socket, { status: 503, body: { message: 'Service Unavailable' } });
    return undefined;
  }
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  const invalid = requestRefusal(request, url, admission.api.stage);
  if (invalid) {
    refuseUpgrade(socket, invalid);
    return undefined;
  }
  const handshake = readHandshake(request, url, admission.api.port);
  const connection = newConnection(handshake);
  const requestId = gatewayId();
  const refusal =
    (await authorize(admission, connection, handshake, requestId)) ??
    (await runConnectRoute(admission, connection, handshake, requestId));
  if (refusal) {
    refuseUpgrade(socket, refusal);
    return undefined;
  }
  return connection;
}

/** Refuses an upgrade with a plain HTTP answer (no socket is opened). */
function refuseUpgrade(socket: Duplex, { status, body, errorType }: Refusal): void {
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

/** A WebSocket upgrade to the root or the stage path, or the refusal of anything else. */
function requestRefusal(request: IncomingMessage, url: URL, stage: string): Refusal | undefined {
  const path = url.pathname.replace(/\/+$/, '');
  if (path !== '' && path !== `/${stage}`) {
    return { status: 403, body: { message: 'Forbidden' }, errorType: 'ForbiddenException' };
  }
  if (request.headers.upgrade?.toLowerCase() !== 'websocket' || !request.headers['sec-websocket-key']) {
    return { status: 400, body: { message: 'Bad Request' } };
  }
  return undefined;
}

/** The authorizer, when the identity source is present; on Allow, the connection gets its context. */
async function authorize(
  admission: Admission,
  connection: Connection,
  handshake: HandshakeRequest,
  requestId: string,
): Promise<Refusal | undefined> {
  const { authorizer, identitySource, log } = admission;
  if (authorizer === null) return undefined;
  if (identitySource !== null && !handshake.queryStringParameters[identitySource]) {
    log(`$connect refused: no ${identitySource} query string parameter (401)`);
    return UNAUTHORIZED;
  }
  const event = authorizerEvent(admission.api, connection, handshake, requestId);
  let result: unknown;
  try {
    result = await admission.invoke(authorizer, '$authorizer', connection.connectionId, requestId, event);
  } catch (error) {
    if (!isUnauthorized(error)) {
      return { status: 500, body: { message: null }, errorType: 'AuthorizerFunctionException' };
    }
    log('$connect refused by the authorizer (401)');
    return UNAUTHORIZED;
  }
  const verdict = evaluatePolicy(result, event.methodArn);
  if (verdict === 'invalid') {
    console.error('[gateway] the authorizer returned an invalid policy or context:', result);
    return { status: 500, body: { message: null }, errorType: 'AuthorizerConfigurationException' };
  }
  if (verdict === 'deny') {
    log('$connect refused by the authorizer policy (403)');
    return {
      status: 403,
      body: { Message: 'User is not authorized to access this resource with an explicit deny' },
      errorType: 'AccessDeniedException',
    };
  }
  const { principalId, context } = result as { principalId: string; context?: Record<string, unknown> };
  connection.authorizer = { ...context, principalId, integrationLatency: 0 };
  return undefined;
}

/** The `$connect` route: anything but a 2xx refuses the upgrade with that status (500 if none). */
async function runConnectRoute(
  admission: Admission,
  connection: Connection,
  handshake: HandshakeRequest,
  requestId: string,
): Promise<Refusal | undefined> {
  const route = admission.connectRoute;
  if (route === undefined) return undefined;
  const { connectionId } = connection;
  const event = connectEvent(admission.api, connection, handshake, requestId);
  let result: unknown;
  try {
    result = await admission.invoke(route, '$connect', connectionId, requestId, event);
  } catch {
    return { status: 500, body: { message: 'Internal server error', connectionId, requestId } };
  }
  const status =
    result !== null && typeof result === 'object'
      ? (result as { statusCode?: unknown }).statusCode
      : undefined;
  if (typeof status === 'number' && status >= 200 && status <= 299) return undefined;
  const refusal = typeof status === 'number' && status >= 300 && status <= 599 ? status : 500;
  const body = (result as { body?: unknown } | null)?.body;
  admission.log(`$connect refused by the route (${refusal})`);
  return { status: refusal, body: typeof body === 'string' ? body : { message: STATUS_CODES[refusal] } };
}
