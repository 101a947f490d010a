/**
 * `$connect`: records the connection. Nothing can be pushed to it until this returns
 * (API Gateway answers 410), so the client asks for its backlog with `getUnread` once open.
 */
import { DynamoPresenceStore } from '../adapters/presence-store.ts';
import { openConnection } from '../domain/presence.ts';
import { logger } from '../shared/logger.ts';
import type { RouteResult } from '../shared/replies.ts';
import { callerOf, type WebSocketEvent } from '../shared/websocket-event.ts';

const presence = new DynamoPresenceStore();

export async function handler(event: WebSocketEvent): Promise<RouteResult> {
  const userId = callerOf(event);
  if (userId === undefined) return { statusCode: 401 };
  try {
    await openConnection(presence, userId, event.requestContext.connectionId, new Date());
    return { statusCode: 200 };
  } catch (error) {
    logger.error('Could not record the connection', { error: error as Error });
    return { statusCode: 500 };
  }
}
