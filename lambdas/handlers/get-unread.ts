import { DynamoMessageStore } from '../adapters/message-store.ts';
import { getUnread } from '../domain/messaging.ts';
import { route } from '../shared/route.ts';

const deps = { messages: new DynamoMessageStore() };

export const handler = route('getUnread', (input, ctx) => getUnread(deps, ctx.userId, input));
