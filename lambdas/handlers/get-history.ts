import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { DynamoMessageStore } from '../adapters/message-store.ts';
import { getHistory } from '../domain/messaging.ts';
import { route } from '../shared/websocket-route.ts';

const deps = { messages: new DynamoMessageStore(), conversations: new DynamoConversationStore() };

export const handler = route('getHistory', (input, caller) => getHistory(deps, input, caller));
