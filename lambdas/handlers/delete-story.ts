import { DynamoStoryStore } from '../adapters/story-store.ts';
import { deleteStory } from '../domain/stories.ts';
import { route } from '../shared/websocket-route.ts';

const stories = new DynamoStoryStore();

export const handler = route('deleteStory', (input, caller) => deleteStory(stories, input, caller));
