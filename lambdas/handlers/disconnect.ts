/**
 * `$disconnect` (best effort in API Gateway): forgets the connection and sets `lastSeen`. If
 * the connection held the user's random chat (the presence write says so, without another
 * read), the chat ends too and the partner is told.
 */
import { DynamoDeliveryTargets } from '../adapters/delivery-targets.ts';
import { DynamoPresenceStore } from '../adapters/presence-store.ts';
import { ManagementApiPusher } from '../adapters/pusher.ts';
import { DynamoRandomStore } from '../adapters/random-store.ts';
import { closeConnection } from '../domain/presence.ts';
import { endRandomChatOf } from '../domain/random-chat.ts';
import { logger } from '../shared/logger.ts';
import {
  callerOf,
  type RouteResult,
  type WebSocketEvent,
  withInvocationKeys,
} from '../shared/websocket-route.ts';

const presence = new DynamoPresenceStore();
const randomChat = {
  random: new DynamoRandomStore(),
  targets: new DynamoDeliveryTargets(),
  pusher: new ManagementApiPusher(),
};

export async function handler(event: WebSocketEvent): Promise<RouteResult> {
  const userId = callerOf(event);
  if (userId === undefined) return { statusCode: 200 };
  const caller = { userId, connectionId: event.requestContext.connectionId, now: new Date() };
  return withInvocationKeys(event, async () => {
    try {
      const closed = await closeConnection(presence, {}, caller);
      if (closed.heldRandomChat) await endRandomChatOf(randomChat, {}, caller);
    } catch (error) {
      // The entry expires on its own; a 410 on the next push removes it too. A random chat
      // left behind ends when its session expires or the partner leaves.
      logger.error('Could not record the disconnect', { error: error as Error });
    }
    return { statusCode: 200 };
  });
}
