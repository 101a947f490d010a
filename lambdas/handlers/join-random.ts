import { DynamoPresenceStore } from '../adapters/presence-store.ts';
import { ManagementApiPusher } from '../adapters/pusher.ts';
import { DynamoRandomStore } from '../adapters/random-store.ts';
import { joinRandom } from '../domain/random-chat.ts';
import { route } from '../shared/route.ts';

const deps = {
  random: new DynamoRandomStore(),
  presence: new DynamoPresenceStore(),
  pusher: new ManagementApiPusher(),
};

export const handler = route('joinRandom', (_input, ctx) =>
  joinRandom(deps, ctx.userId, ctx.connectionId, ctx.now),
);
