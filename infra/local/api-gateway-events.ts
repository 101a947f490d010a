/**
 * The events API Gateway hands to Lambda, shaped like the real ones: the WebSocket API's (the
 * `$connect` REQUEST authorizer, `$connect`, messages, `$disconnect`) and the HTTP API's
 * payload format 2.0. The local gateway and the local HTTP API both build theirs here.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { HttpRouteDefinition } from '../../lambdas/routes.ts';
import { LOCAL_ACCOUNT_ID, LOCAL_API_ID } from './config.ts';
import type { HttpRequest } from './http-server.ts';

/** API Gateway ids look like `Ld9sKf7iIAMCJ6w=`: 11 random bytes, base64 (URL-safe here). */
export function gatewayId(): string {
  return `${randomBytes(11).toString('base64url')}=`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `09/Apr/2015:12:34:56 +0000`: `requestTime` of WebSocket events, `time` of HTTP API events. */
export function requestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(
    d.getUTCMinutes(),
  )}:${pad(d.getUTCSeconds())} +0000`;
}

/** The client address as API Gateway reports it: IPv4 without Node's `::ffff:` prefix. */
export function sourceIpOf(remoteAddress: string | undefined): string {
  return remoteAddress?.replace(/^::ffff:/, '') ?? '127.0.0.1';
}

/** The WebSocket API an event comes through. */
export interface WebSocketApiEndpoint {
  readonly apiId: string;
  readonly stage: string;
  /** The port clients connect to (`X-Forwarded-Port`). */
  readonly port: number;
  /** `127.0.0.1:{port}`, `requestContext.domainName`. */
  readonly domainName: string;
}

/** What the events of one WebSocket connection say about it. */
export interface ConnectionIdentity {
  readonly connectionId: string;
  readonly connectedAt: number;
  readonly sourceIp: string;
  readonly userAgent: string;
  /** The upgrade request's headers, as `$connect` and `$disconnect` carry them. */
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  /** `{principalId, ...context}` once the authorizer admitted the connection. */
  readonly authorizer: Readonly<Record<string, unknown>> | undefined;
}

/** The WebSocket upgrade request, read the way API Gateway passes it on. */
export interface HandshakeRequest {
  readonly sourceIp: string;
  readonly userAgent: string;
  readonly headers: Record<string, string>;
  readonly multiValueHeaders: Record<string, string[]>;
  readonly queryStringParameters: Record<string, string>;
  readonly multiValueQueryStringParameters: Record<string, string[]>;
}

/** Reads the headers of an upgrade request, with those API Gateway adds, and its query string. */
export function readHandshake(request: IncomingMessage, url: URL, port: number): HandshakeRequest {
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  for (let i = 0; i + 1 < request.rawHeaders.length; i += 2) {
    const name = request.rawHeaders[i] as string;
    const value = request.rawHeaders[i + 1] as string;
    headers[name] = value;
    multiValueHeaders[name] = [...(multiValueHeaders[name] ?? []), value];
  }
  const sourceIp = sourceIpOf(request.socket.remoteAddress);
  for (const [name, value] of [
    ['X-Forwarded-For', sourceIp],
    ['X-Forwarded-Port', String(port)],
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
  const userAgent = request.headers['user-agent'] ?? '';
  return {
    sourceIp,
    userAgent,
    headers,
    multiValueHeaders,
    queryStringParameters,
    multiValueQueryStringParameters,
  };
}

/** The `execute-api` ARN of a route: the authorizer's `methodArn`. */
export function methodArn(api: WebSocketApiEndpoint, routeKey: string): string {
  return `arn:aws:execute-api:local:${LOCAL_ACCOUNT_ID}:${api.apiId}/${api.stage}/${routeKey}`;
}

/** The `requestContext` every WebSocket event carries (without `authorizer`). */
export function webSocketRequestContext(
  api: WebSocketApiEndpoint,
  connection: ConnectionIdentity,
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
    stage: api.stage,
    connectedAt: connection.connectedAt,
    requestTimeEpoch: now,
    identity: { sourceIp: connection.sourceIp, userAgent: connection.userAgent },
    requestId,
    domainName: api.domainName,
    connectionId: connection.connectionId,
    apiId: api.apiId,
  };
}

/** Adds `requestContext.authorizer` once the authorizer has admitted the connection. */
function withAuthorizer(
  connection: ConnectionIdentity,
  requestContext: Record<string, unknown>,
): Record<string, unknown> {
  return connection.authorizer
    ? { ...requestContext, authorizer: { ...connection.authorizer } }
    : requestContext;
}

/** The `$connect` REQUEST authorizer's event. */
export function authorizerEvent(
  api: WebSocketApiEndpoint,
  connection: ConnectionIdentity,
  handshake: HandshakeRequest,
  requestId: string,
): Record<string, unknown> & { readonly methodArn: string } {
  return {
    type: 'REQUEST',
    methodArn: methodArn(api, '$connect'),
    headers: handshake.headers,
    multiValueHeaders: handshake.multiValueHeaders,
    queryStringParameters: handshake.queryStringParameters,
    multiValueQueryStringParameters: handshake.multiValueQueryStringParameters,
    stageVariables: {},
    requestContext: webSocketRequestContext(api, connection, '$connect', 'CONNECT', requestId),
  };
}

/** The `$connect` route's event; the query string fields are absent without a query string. */
export function connectEvent(
  api: WebSocketApiEndpoint,
  connection: ConnectionIdentity,
  handshake: HandshakeRequest,
  requestId: string,
): Record<string, unknown> {
  const hasQuery = Object.keys(handshake.queryStringParameters).length > 0;
  return {
    headers: handshake.headers,
    multiValueHeaders: handshake.multiValueHeaders,
    queryStringParameters: hasQuery ? handshake.queryStringParameters : undefined,
    multiValueQueryStringParameters: hasQuery ? handshake.multiValueQueryStringParameters : undefined,
    requestContext: withAuthorizer(
      connection,
      webSocketRequestContext(api, connection, '$connect', 'CONNECT', requestId),
    ),
    isBase64Encoded: false,
  };
}

/** The event of one frame, for the route it selected. */
export function messageEvent(
  api: WebSocketApiEndpoint,
  connection: ConnectionIdentity,
  routeKey: string,
  requestId: string,
  body: string,
): Record<string, unknown> {
  return {
    requestContext: withAuthorizer(connection, {
      ...webSocketRequestContext(api, connection, routeKey, 'MESSAGE', requestId),
      messageId: gatewayId(),
    }),
    body,
    isBase64Encoded: false,
  };
}

/** The `$disconnect` route's event, with the close code and reason. */
export function disconnectEvent(
  api: WebSocketApiEndpoint,
  connection: ConnectionIdentity,
  requestId: string,
  statusCode: number,
  reason: string,
): Record<string, unknown> {
  // API Gateway's $disconnect carries its own headers, not the handshake's (which $connect saw).
  const headers: Record<string, string> = {
    Host: api.domainName,
    'x-api-key': '',
    'X-Forwarded-For': '',
    'x-restapi': '',
  };
  return {
    headers,
    multiValueHeaders: Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])),
    requestContext: withAuthorizer(connection, {
      ...webSocketRequestContext(api, connection, '$disconnect', 'DISCONNECT', requestId),
      disconnectStatusCode: statusCode,
      disconnectReason: reason,
    }),
    isBase64Encoded: false,
  };
}

const TEXT_TYPES = /^(text\/|application\/(json|xml|javascript|x-www-form-urlencoded)|[^;]*\+json)/i;

/** The HTTP API's payload-format 2.0 event of one request. */
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
  const now = Date.now();
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
        sourceIp: sourceIpOf(request.sourceIp),
        userAgent: String(request.headers['user-agent'] ?? ''),
      },
      requestId,
      routeKey,
      stage: '$default',
      time: requestTime(now),
      timeEpoch: now,
    },
    ...(request.body.byteLength > 0
      ? { body: textual ? request.body.toString('utf8') : request.body.toString('base64') }
      : {}),
    isBase64Encoded: !textual,
  };
}
