import { DynamoProfileStore } from '../adapters/profile-store.ts';
import { updateProfile } from '../domain/profiles.ts';
import { route } from '../shared/route.ts';

const profiles = new DynamoProfileStore();

export const handler = route('updateProfile', (input, ctx) =>
  updateProfile(profiles, ctx.userId, input, ctx.now),
);
