import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { DynamoMessageStore } from '../adapters/message-store.ts';
import { getUnread } from '../domain/conversation-list.ts';
import { route } from '../shared/websocket-route.ts';

const deps = { messages: new DynamoMessageStore(), conversations: new DynamoConversationStore() };

export const handler = route('getUnread', (input, caller) => getUnread(deps, input, caller));
