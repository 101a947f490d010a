import { DynamoProfileStore } from '../adapters/profile-store.ts';
import { getProfile } from '../domain/profiles.ts';
import { route } from '../shared/websocket-route.ts';

const profiles = new DynamoProfileStore();

export const handler = route('getProfile', (input, caller) => getProfile(profiles, input, caller));
