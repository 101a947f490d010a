/**
 * THE route table. Every WebSocket route, the authorizer, and what each may touch.
 * The CDK stack builds one function, one route and least-privilege grants per entry; the
 * local gateway dispatches from the same list. Adding a route is one entry here plus one
 * handler file in lambdas/handlers/.
 */
import type { TableId } from './tables.ts';

export interface Permissions {
  /** Tables the function reads (GetItem, BatchGetItem, Query). */
  readonly read?: readonly TableId[];
  /** Tables the function writes (PutItem, UpdateItem, DeleteItem, transactions); implies read. */
  readonly write?: readonly TableId[];
  /** May post to / delete connections through the Management API. */
  readonly manageConnections?: boolean;
  /** Reads the JWT signing secret from Secrets Manager. */
  readonly jwtSecret?: boolean;
  /** Sends e-mail through SES (`ses:SendEmail` on the sender identity only). */
  readonly ses?: boolean;
}

export interface FunctionDefinition {
  /** File name in lambdas/handlers/ without extension; it exports `handler`. */
  readonly handler: string;
  readonly permissions: Permissions;
  /** @default 256 */
  readonly memoryMb?: number;
}

export interface WebSocketRouteDefinition extends FunctionDefinition {
  /** API Gateway route key: `$connect`, `$disconnect`, `$default` or an action name. */
  readonly routeKey: string;
}

/** The `$connect` REQUEST authorizer; identity source: the `token` query string parameter. */
export const authorizer: FunctionDefinition = {
  handler: 'authorize',
  permissions: { jwtSecret: true },
};

export const webSocketRoutes: readonly WebSocketRouteDefinition[] = [
  { routeKey: '$connect', handler: 'connect', permissions: { write: ['presence'] } },
  { routeKey: '$disconnect', handler: 'disconnect', permissions: { write: ['presence'] } },
  { routeKey: '$default', handler: 'default', permissions: {} },
  {
    routeKey: 'sendMessage',
    handler: 'send-message',
    permissions: {
      read: ['users', 'relations'],
      write: ['messages', 'presence'],
      manageConnections: true,
    },
  },
  { routeKey: 'getUnread', handler: 'get-unread', permissions: { read: ['messages'] } },
  {
    routeKey: 'markRead',
    handler: 'mark-read',
    permissions: { write: ['messages', 'presence'], manageConnections: true },
  },
  { routeKey: 'getHistory', handler: 'get-history', permissions: { read: ['messages'] } },
  { routeKey: 'block', handler: 'block', permissions: { read: ['users'], write: ['relations'] } },
  { routeKey: 'unblock', handler: 'unblock', permissions: { write: ['relations'] } },
  { routeKey: 'ping', handler: 'ping', permissions: {} },
];

export interface HttpRouteDefinition extends FunctionDefinition {
  readonly method: 'GET' | 'POST';
  /** Path of the HTTP API route, e.g. `/auth/login`. */
  readonly path: string;
}

/** The HTTP API (`/auth/*`), served by API Gateway HTTP API in AWS and on :3000 locally. */
export const httpRoutes: readonly HttpRouteDefinition[] = [];

/** Every table a function needs access to, for its environment variables. */
export function tablesOf(definition: FunctionDefinition): TableId[] {
  const { read = [], write = [] } = definition.permissions;
  return [...new Set([...read, ...write])];
}
