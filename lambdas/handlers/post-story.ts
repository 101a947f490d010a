import { S3MediaObjects } from '../adapters/media-objects.ts';
import { DynamoMediaRepository } from '../adapters/media-store.ts';
import { DynamoStoryStore } from '../adapters/story-store.ts';
import { postStory } from '../domain/stories.ts';
import { route } from '../shared/websocket-route.ts';

const stories = new DynamoStoryStore();
const media = { media: new DynamoMediaRepository(), objects: new S3MediaObjects() };

export const handler = route('postStory', (input, caller) => postStory(stories, input, caller, media));
