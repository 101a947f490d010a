/** One WebSocket connection as the local gateway tracks it, from its upgrade request to its `$disconnect`. */
import type { WebSocket } from 'ws';
import { type ConnectionIdentity, gatewayId, type HandshakeRequest } from './api-gateway-events.ts';

export interface Connection extends ConnectionIdentity {
  lastActiveAt: number;
  authorizer: Record<string, unknown> | undefined;
  /** Set once the handshake has completed. */
  ws: WebSocket | undefined;
  /** Set when the socket closed (or never opened); its `$disconnect` runs once. */
  closed: boolean;
  /** Frames posted to it through the Management API. */
  posts: number;
  idleTimer?: NodeJS.Timeout;
  maxTimer?: NodeJS.Timeout;
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

/** A connection being admitted: it has an id, and no socket until the handshake completes. */
export function newConnection(handshake: HandshakeRequest): Connection {
  return {
    connectionId: gatewayId(),
    connectedAt: Date.now(),
    lastActiveAt: Date.now(),
    sourceIp: handshake.sourceIp,
    userAgent: handshake.userAgent,
    headers: handshake.headers,
    multiValueHeaders: handshake.multiValueHeaders,
    authorizer: undefined,
    ws: undefined,
    closed: false,
    posts: 0,
  };
}

/** Whether the connection is open: its handshake has completed and it has not closed. */
export function isOpen(connection: Connection): connection is Connection & { ws: WebSocket } {
  return connection.ws !== undefined && !connection.closed;
}

export function connectionInfo(connection: Connection): ConnectionInfo {
  return {
    connectionId: connection.connectionId,
    connectedAt: connection.connectedAt,
    lastActiveAt: connection.lastActiveAt,
    sourceIp: connection.sourceIp,
    userAgent: connection.userAgent,
    authorizer: connection.authorizer,
    posts: connection.posts,
  };
}
