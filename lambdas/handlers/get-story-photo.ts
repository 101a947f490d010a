import { DynamoStoryFeed } from '../adapters/story-store.ts';
import { getStoryPhoto } from '../domain/stories.ts';
import { route } from '../shared/route.ts';

const feed = new DynamoStoryFeed();

export const handler = route('getStoryPhoto', (input, ctx) =>
  getStoryPhoto(feed, ctx.userId, input, ctx.now),
);
