import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { DynamoDeliveryTargets } from '../adapters/delivery-targets.ts';
import { S3MediaObjects } from '../adapters/media-objects.ts';
import { DynamoMediaRepository } from '../adapters/media-store.ts';
import { DynamoMessageStore } from '../adapters/message-store.ts';
import { configuredPushJobQueue } from '../adapters/push-jobs.ts';
import { ManagementApiPusher } from '../adapters/pusher.ts';
import { sendMessage } from '../domain/messaging.ts';
import { route } from '../shared/websocket-route.ts';

const deps = {
  messages: new DynamoMessageStore(),
  conversations: new DynamoConversationStore(),
  targets: new DynamoDeliveryTargets(),
  pusher: new ManagementApiPusher(),
  media: { media: new DynamoMediaRepository(), objects: new S3MediaObjects() },
  pushJobs: configuredPushJobQueue(),
};

export const handler = route('sendMessage', (input, caller) => sendMessage(deps, input, caller));
