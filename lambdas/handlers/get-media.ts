import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { DynamoMediaRepository, S3MediaObjects } from '../adapters/media-store.ts';
import { getMedia, mediaAudience } from '../domain/media.ts';
import { route } from '../shared/websocket-route.ts';

const deps = {
  media: new DynamoMediaRepository(),
  objects: new S3MediaObjects(),
  audience: mediaAudience({ conversations: new DynamoConversationStore() }),
};

export const handler = route('getMedia', (input, caller) => getMedia(deps, input, caller));
