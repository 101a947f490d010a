import { DynamoStoryFeed } from '../adapters/story-store.ts';
import { getStoryPhoto } from '../domain/stories.ts';
import { route } from '../shared/websocket-route.ts';

const feed = new DynamoStoryFeed();

export const handler = route('getStoryPhoto', (input, caller) => getStoryPhoto(feed, input, caller));
