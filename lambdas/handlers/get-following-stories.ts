import { DynamoStoryFeed } from '../adapters/story-store.ts';
import { getFollowingStories } from '../domain/stories.ts';
import { route } from '../shared/websocket-route.ts';

const feed = new DynamoStoryFeed();

export const handler = route('getFollowingStories', (input, caller) =>
  getFollowingStories(feed, input, caller),
);
