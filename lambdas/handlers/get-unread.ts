import { DynamoMessageStore } from '../adapters/message-store.ts';
import { getUnread } from '../domain/messaging.ts';
import { route } from '../shared/websocket-route.ts';

const deps = { messages: new DynamoMessageStore() };

export const handler = route('getUnread', (input, caller) => getUnread(deps, input, caller));
