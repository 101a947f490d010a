import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { DynamoDeliveryTargets } from '../adapters/delivery-targets.ts';
import { DynamoMessageStore } from '../adapters/message-store.ts';
import { ManagementApiPusher } from '../adapters/pusher.ts';
import { deleteMessage } from '../domain/message-actions.ts';
import { route } from '../shared/websocket-route.ts';

const deps = {
  messages: new DynamoMessageStore(),
  conversations: new DynamoConversationStore(),
  targets: new DynamoDeliveryTargets(),
  pusher: new ManagementApiPusher(),
};

export const handler = route('deleteMessage', (input, caller) => deleteMessage(deps, input, caller));
