import { DynamoProfileStore } from '../adapters/profile-store.ts';
import { findUser } from '../domain/profiles.ts';
import { route } from '../shared/websocket-route.ts';

const profiles = new DynamoProfileStore();

export const handler = route('findUser', (input, caller) => findUser(profiles, input, caller));
