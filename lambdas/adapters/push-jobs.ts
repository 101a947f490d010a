/**
 * The push job queue (SQS; locally the local stack's queue): one message per stored message with
 * offline recipients, and the worker's retries of failed pushes (delayed with `DelaySeconds`).
 */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { PushJob, PushJobQueue } from '../domain/push-notifications.ts';
import { requireEnv } from '../shared/env.ts';

export const PUSH_QUEUE_URL_ENV = 'PUSH_QUEUE_URL';

/**
 * The send path waits for this call (before it answers), so it is held short: 1 s to connect,
 * 2 s for the answer, one retry. A job that still fails costs a notification, never the message
 * (the worker's retry that fails sends its job back to the queue whole).
 */
const SOCKETS = { keepAlive: true, maxSockets: 1_000 };
const sqs = new SQSClient({
  maxAttempts: 2,
  requestHandler: {
    connectionTimeout: 1_000,
    requestTimeout: 2_000,
    throwOnRequestTimeout: true,
    // Concurrent sends in one container (locally, every send of the process) must not wait in
    // line for one of the SDK's default 50 sockets while their deadline runs.
    httpAgent: SOCKETS,
    httpsAgent: SOCKETS,
  },
});

/** The queue of this deployment, or undefined where push notifications are not set up (PUSH_QUEUE_URL unset). */
export function configuredPushJobQueue(): SqsPushJobQueue | undefined {
  return process.env[PUSH_QUEUE_URL_ENV] ? new SqsPushJobQueue() : undefined;
}

export class SqsPushJobQueue implements PushJobQueue {
  constructor(
    private readonly client: SQSClient = sqs,
    private readonly queueUrl: string = requireEnv(PUSH_QUEUE_URL_ENV),
  ) {}

  async enqueue(job: PushJob, delaySeconds?: number): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: JSON.stringify(job),
        ...(delaySeconds ? { DelaySeconds: delaySeconds } : {}),
      }),
    );
  }
}
