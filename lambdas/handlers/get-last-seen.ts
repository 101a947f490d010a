import { DynamoPresenceStore } from '../adapters/presence-store.ts';
import { getLastSeen } from '../domain/profiles.ts';
import { route } from '../shared/route.ts';

const presence = new DynamoPresenceStore();

export const handler = route('getLastSeen', (input, ctx) =>
  getLastSeen(presence, ctx.userId, input, ctx.now),
);
