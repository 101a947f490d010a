import { DynamoPresenceStore } from '../adapters/presence-store.ts';
import { getLastSeen } from '../domain/profiles.ts';
import { route } from '../shared/websocket-route.ts';

const presence = new DynamoPresenceStore();

export const handler = route('getLastSeen', (input, caller) => getLastSeen(presence, input, caller));
