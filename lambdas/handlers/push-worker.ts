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
import { parseVapidKeys } from '../adapters/vapid-keys.ts';
import { LibraryWebPushSender, type VapidKeys } from '../adapters/web-push-sender.ts';
import { deliverPushBatch } from '../domain/push-notifications.ts';
import { requireEnv } from '../shared/env.ts';

/**
 * The VAPID key pair from the secret VAPID_SECRET_ARN names (`{publicKey, privateKey}`, written
 * by the stack's key pair custom resource; locally by the local Secrets Manager), read once during
 * the init phase. A secret without a pair fails each push (retried), never the load.
 */
function vapidKeys(): () => Promise<VapidKeys> {
  const subject = process.env.VAPID_SUBJECT || 'mailto:push@parley.invalid';
  const keys = readSecretString(requireEnv('VAPID_SECRET_ARN')).then((text) => {
    const pair = parseVapidKeys(text);
    if (pair === undefined) throw new Error('The VAPID secret holds no key pair');
    return { ...pair, subject };
  });
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
