import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { DynamoDeliveryTargets } from '../adapters/delivery-targets.ts';
import { DynamoMessageStore } from '../adapters/message-store.ts';
import { report } from '../domain/message-actions.ts';
import { route } from '../shared/websocket-route.ts';

const deps = {
  messages: new DynamoMessageStore(),
  conversations: new DynamoConversationStore(),
  targets: new DynamoDeliveryTargets(),
};

export const handler = route('report', (input, caller) => report(deps, input, caller));
