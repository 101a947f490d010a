import { S3MediaObjects } from '../adapters/media-objects.ts';
import { DynamoMediaRepository } from '../adapters/media-store.ts';
import { DynamoProfileStore } from '../adapters/profile-store.ts';
import { updateProfile } from '../domain/profiles.ts';
import { route } from '../shared/websocket-route.ts';

const profiles = new DynamoProfileStore();
const media = { media: new DynamoMediaRepository(), objects: new S3MediaObjects() };

export const handler = route('updateProfile', (input, caller) =>
  updateProfile(profiles, input, caller, media),
);
