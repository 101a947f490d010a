import { DynamoProfileStore } from '../adapters/profile-store.ts';
import { updateProfile } from '../domain/profiles.ts';
import { route } from '../shared/websocket-route.ts';

const profiles = new DynamoProfileStore();

export const handler = route('updateProfile', (input, caller) => updateProfile(profiles, input, caller));
