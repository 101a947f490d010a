import { DynamoMessageStore } from '../adapters/message-store.ts';
import { DynamoPresenceStore } from '../adapters/presence-store.ts';
import { ManagementApiPusher } from '../adapters/pusher.ts';
import { markRead } from '../domain/messaging.ts';
import { route } from '../shared/route.ts';

const deps = {
  messages: new DynamoMessageStore(),
  presence: new DynamoPresenceStore(),
  pusher: new ManagementApiPusher(),
};

export const handler = route('markRead', (input, ctx) => markRead(deps, ctx.userId, input, ctx.now));
