/**
 * The push worker: push jobs from the queue, a batch at a time (lambdas/domain/push-notifications.ts).
 * Failed pushes go back on the same queue as a delayed job for their targets only; a job that
 * could not run (or whose retry could not be queued) goes back whole (a partial batch response),
 * delivered again after the visibility timeout and, after its last attempt, to the dead-letter queue.
 */
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { DynamoConversationStore } from '../adapters/conversation-store.ts';
import { SqsPushJobQueue } from '../adapters/push-jobs.ts';
import { DynamoPushTargetStore } from '../adapters/push-target-store.ts';
import { readSecretString } from '../adapters/secrets.ts';
import { SnsMobilePushSender } from '../adapters/sns-push-sender.ts';
import { LibraryWebPushSender, type VapidKeys } from '../adapters/web-push-sender.ts';
import { deliverPushBatch } from '../domain/push-notifications.ts';

/** The VAPID keys: from the environment (the local stack), else the secret VAPID_SECRET_ARN names ({publicKey, privateKey}). */
function vapidKeys(): () => Promise<VapidKeys> {
  const subject = process.env.VAPID_SUBJECT || 'mailto:push@parley.invalid';
  const {
    VAPID_PUBLIC_KEY: publicKey,
    VAPID_PRIVATE_KEY: privateKey,
    VAPID_SECRET_ARN: secretArn,
  } = process.env;
  if (publicKey && privateKey) return () => Promise.resolve({ publicKey, privateKey, subject });
  if (!secretArn) throw new Error('VAPID_SECRET_ARN environment variable is not set');
  // Read once, during the init phase.
  const keys = readSecretString(secretArn).then((text) => ({ ...JSON.parse(text), subject }) as VapidKeys);
  keys.catch(() => undefined);
  return () => keys;
}

const deps = {
  audience: new DynamoPushTargetStore(),
  sender: new LibraryWebPushSender(vapidKeys()),
  mutes: new DynamoConversationStore(),
  retries: new SqsPushJobQueue(),
  // Publishing needs only the target's endpoint ARN, not the platform application.
  mobile: new SnsMobilePushSender(),
};

export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const retry = await deliverPushBatch(
    deps,
    event.Records.map((record) => ({ id: record.messageId, body: record.body })),
  );
  return { batchItemFailures: retry.map((itemIdentifier) => ({ itemIdentifier })) };
}
