import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { getGroup } from '../domain/groups.ts';
import { route } from '../shared/websocket-route.ts';

const deps = { conversations: new DynamoConversationStore() };

export const handler = route('getGroup', (input, caller) => getGroup(deps, input, caller));
