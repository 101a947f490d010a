import { DynamoStoryStore } from '../adapters/story-store.ts';
import { deleteStory } from '../domain/stories.ts';
import { route } from '../shared/route.ts';

const stories = new DynamoStoryStore();

export const handler = route('deleteStory', (input, ctx) => deleteStory(stories, ctx.userId, input, ctx.now));
