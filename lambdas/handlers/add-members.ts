import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { DynamoDeliveryTargets } from '../adapters/delivery-targets.ts';
import { ManagementApiPusher } from '../adapters/pusher.ts';
import { addMembers } from '../domain/groups.ts';
import { route } from '../shared/websocket-route.ts';

const deps = {
  conversations: new DynamoConversationStore(),
  targets: new DynamoDeliveryTargets(),
  pusher: new ManagementApiPusher(),
};

export const handler = route('addMembers', (input, caller) => addMembers(deps, input, caller));
