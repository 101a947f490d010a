import { DynamoProfileStore } from '../adapters/profile-store.ts';
import { getProfile } from '../domain/profiles.ts';
import { route } from '../shared/route.ts';

const profiles = new DynamoProfileStore();

export const handler = route('getProfile', (input, ctx) => getProfile(profiles, ctx.userId, input, ctx.now));
