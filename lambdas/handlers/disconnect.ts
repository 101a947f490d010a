/** `$disconnect` (best effort in API Gateway): forgets the connection and sets `lastSeen`. */
import { DynamoPresenceStore } from '../adapters/presence-store.ts';
import { closeConnection } from '../domain/presence.ts';
import { logger } from '../shared/logger.ts';
import type { RouteResult } from '../shared/replies.ts';
import { callerOf, type WebSocketEvent } from '../shared/websocket-event.ts';

const presence = new DynamoPresenceStore();

export async function handler(event: WebSocketEvent): Promise<RouteResult> {
  const userId = callerOf(event);
  if (userId === undefined) return { statusCode: 200 };
  try {
    await closeConnection(presence, userId, event.requestContext.connectionId, new Date());
  } catch (error) {
    // The entry expires on its own; a 410 on the next push removes it too.
    logger.error('Could not record the disconnect', { error: error as Error });
  }
  return { statusCode: 200 };
}
