import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { muteConversation } from '../domain/mutes.ts';
import { route } from '../shared/websocket-route.ts';

const deps = { conversations: new DynamoConversationStore() };

export const handler = route('muteConversation', (input, caller) => muteConversation(deps, input, caller));
