import { DynamoStoryStore } from '../adapters/story-store.ts';
import { postStory } from '../domain/stories.ts';
import { route } from '../shared/route.ts';

const stories = new DynamoStoryStore();

export const handler = route('postStory', (input, ctx) => postStory(stories, ctx.userId, input, ctx.now));
