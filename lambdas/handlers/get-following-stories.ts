import { DynamoStoryFeed } from '../adapters/story-store.ts';
import { getFollowingStories } from '../domain/stories.ts';
import { route } from '../shared/route.ts';

const feed = new DynamoStoryFeed();

export const handler = route('getFollowingStories', (input, ctx) =>
  getFollowingStories(feed, ctx.userId, input, ctx.now),
);
