/**
 * `$connect`: records the connection, or refuses it (403) when the user is at the connection
 * cap (checked atomically by the write). Nothing can be pushed to it until this returns
 * (API Gateway answers 410), so the client asks for its backlog with `getUnread` once open.
 */
import { DynamoPresenceStore } from '../adapters/presence-store.ts';
import { openConnection } from '../domain/presence.ts';
import { logger } from '../shared/logger.ts';
import {
  callerOf,
  type RouteResult,
  type WebSocketEvent,
  withInvocationKeys,
} from '../shared/websocket-route.ts';

const presence = new DynamoPresenceStore();

export async function handler(event: WebSocketEvent): Promise<RouteResult> {
  const userId = callerOf(event);
  if (userId === undefined) return { statusCode: 401 };
  const caller = { userId, connectionId: event.requestContext.connectionId, now: new Date() };
  return withInvocationKeys(event, async () => {
    try {
      if (!(await openConnection(presence, {}, caller))) {
        logger.info('Connection refused: the user holds the most connections allowed');
        return { statusCode: 403 };
      }
      return { statusCode: 200 };
    } catch (error) {
      logger.error('Could not record the connection', { error: error as Error });
      return { statusCode: 500 };
    }
  });
}
