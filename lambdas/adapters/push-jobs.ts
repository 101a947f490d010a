/** The push job queue (SQS; locally the local stack's queue): one message per stored message with offline recipients. */
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { PushJob, PushJobQueue } from '../domain/push-notifications.ts';
import { requireEnv } from '../shared/env.ts';

export const PUSH_QUEUE_URL_ENV = 'PUSH_QUEUE_URL';

const sqs = new SQSClient({});

export class SqsPushJobQueue implements PushJobQueue {
  constructor(
    private readonly client: SQSClient = sqs,
    private readonly queueUrl: string = requireEnv(PUSH_QUEUE_URL_ENV),
  ) {}

  async enqueue(job: PushJob): Promise<void> {
    await this.client.send(
      new SendMessageCommand({ QueueUrl: this.queueUrl, MessageBody: JSON.stringify(job) }),
    );
  }
}
