import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { S3MediaObjects } from '../adapters/media-objects.ts';
import { DynamoMediaRepository } from '../adapters/media-store.ts';
import { DynamoProfileStore } from '../adapters/profile-store.ts';
import { DynamoStoryFeed } from '../adapters/story-store.ts';
import { getMedia } from '../domain/media.ts';
import { mediaAudience } from '../domain/media-audience.ts';
import { route } from '../shared/websocket-route.ts';

const deps = {
  media: new DynamoMediaRepository(),
  objects: new S3MediaObjects(),
  audience: mediaAudience({
    conversations: new DynamoConversationStore(),
    stories: new DynamoStoryFeed(),
    profiles: new DynamoProfileStore(),
  }),
};

export const handler = route('getMedia', (input, caller) => getMedia(deps, input, caller));
