/** `typing` (one-way: no reply frame). */
import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { DynamoDeliveryTargets } from '../adapters/delivery-targets.ts';
import { ManagementApiPusher } from '../adapters/pusher.ts';
import { typing } from '../domain/typing.ts';
import { route } from '../shared/websocket-route.ts';

const deps = {
  conversations: new DynamoConversationStore(),
  targets: new DynamoDeliveryTargets(),
  pusher: new ManagementApiPusher(),
};

export const handler = route('typing', (input, caller) => typing(deps, input, caller));
