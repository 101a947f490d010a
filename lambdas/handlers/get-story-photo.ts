import { S3MediaObjects } from '../adapters/media-objects.ts';
import { DynamoStoryFeed } from '../adapters/story-store.ts';
import { getStoryPhoto } from '../domain/stories.ts';
import { route } from '../shared/websocket-route.ts';

const feed = new DynamoStoryFeed();
const objects = new S3MediaObjects();

export const handler = route('getStoryPhoto', (input, caller) => getStoryPhoto(feed, input, caller, objects));
