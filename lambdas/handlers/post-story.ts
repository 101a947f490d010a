import { DynamoStoryStore } from '../adapters/story-store.ts';
import { postStory } from '../domain/stories.ts';
import { route } from '../shared/websocket-route.ts';

const stories = new DynamoStoryStore();

export const handler = route('postStory', (input, caller) => postStory(stories, input, caller));
