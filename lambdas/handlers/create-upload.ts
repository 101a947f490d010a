import { S3MediaObjects } from '../adapters/media-objects.ts';
import { DynamoMediaRepository } from '../adapters/media-store.ts';
import { createUpload } from '../domain/media.ts';
import { route } from '../shared/websocket-route.ts';

const deps = { media: new DynamoMediaRepository(), objects: new S3MediaObjects() };

export const handler = route('createUpload', (input, caller) => createUpload(deps, input, caller));
