import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { DynamoMessageStore } from '../adapters/message-store.ts';
import { getConversations } from '../domain/conversation-list.ts';
import { route } from '../shared/websocket-route.ts';

const deps = { messages: new DynamoMessageStore(), conversations: new DynamoConversationStore() };

export const handler = route('getConversations', (input, caller) => getConversations(deps, input, caller));
