import { DynamoDeliveryTargets } from '../adapters/delivery-targets.ts';
import { ManagementApiPusher } from '../adapters/pusher.ts';
import { DynamoRandomStore } from '../adapters/random-store.ts';
import { leaveRandom } from '../domain/random-chat.ts';
import { route } from '../shared/websocket-route.ts';

const deps = {
  random: new DynamoRandomStore(),
  targets: new DynamoDeliveryTargets(),
  pusher: new ManagementApiPusher(),
};

export const handler = route('leaveRandom', (input, caller) => leaveRandom(deps, input, caller));
