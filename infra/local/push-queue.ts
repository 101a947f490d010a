/**
 * The push job queue on this machine: an HTTP endpoint that answers SQS's `SendMessage` (the
 * JSON protocol the SDK speaks), so the send path's SqsPushJobQueue runs unchanged, and that
 * hands each job to the push worker as an SQS event, as Lambda's event source mapping does.
 * A job sent with `DelaySeconds` is handed over that much later (times `delayScale`). A job the
 * worker reports failed comes back after a backoff (1 s, 2 s, 4 s, …); after `maxAttempts` it
 * goes to `deadLetters`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';

export type PushWorker = (event: SQSEvent) => Promise<SQSBatchResponse | undefined>;

export interface LocalPushQueueOptions {
  /** 0 picks a free port. @default 0 */
  readonly port?: number;
  /** @default 5 (the CDK queue's maxReceiveCount) */
  readonly maxAttempts?: number;
  /** The first retry's delay; each next one doubles. @default 1000 */
  readonly backoffMs?: number;
  /** Multiplies each `DelaySeconds` (a test shortens them). @default 1, SQS's own */
  readonly delayScale?: number;
}

export interface LocalPushQueue {
  /** What `PUSH_QUEUE_URL` is set to (the SDK takes the endpoint from it too). */
  readonly url: string;
  /** Every job sent (`SendMessage` bodies), oldest first. */
  readonly sent: string[];
  /** The `DelaySeconds` of each job of `sent` (0 when none). */
  readonly delays: number[];
  /** Multiplies each `DelaySeconds`; a test on a running stack may shorten them. */
  delayScale: number;
  /** Jobs given up on after their last attempt. */
  readonly deadLetters: string[];
  /** Resolves when no job is queued, running or waiting for a retry. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

export async function startLocalPushQueue(
  worker: PushWorker,
  options: LocalPushQueueOptions = {},
): Promise<LocalPushQueue> {
  const maxAttempts = options.maxAttempts ?? 5;
  const backoffMs = options.backoffMs ?? 1000;
  const deadLetters: string[] = [];
  const sent: string[] = [];
  const delays: number[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let pending = 0;
  let waiters: Array<() => void> = [];
  const settle = () => {
    pending -= 1;
    if (pending === 0) for (const wake of waiters.splice(0)) wake();
  };

  /** Runs `task` after `ms`, unless the queue stops first. */
  const later = (ms: number, task: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      task();
    }, ms);
    timers.add(timer);
  };

  const deliver = async (messageId: string, body: string, attempt: number): Promise<void> => {
    let failed: boolean;
    try {
      const response = await worker({
        Records: [
          {
            messageId,
            receiptHandle: `${messageId}-${attempt}`,
            body,
            attributes: {
              ApproximateReceiveCount: String(attempt),
              SentTimestamp: String(Date.now()),
              SenderId: 'local',
              ApproximateFirstReceiveTimestamp: String(Date.now()),
            },
            messageAttributes: {},
            md5OfBody: createHash('md5').update(body).digest('hex'),
            eventSource: 'aws:sqs',
            eventSourceARN: 'arn:aws:sqs:local:000000000000:push-jobs',
            awsRegion: 'local',
          },
        ],
      });
      failed = (response?.batchItemFailures ?? []).some((f) => f.itemIdentifier === messageId);
    } catch {
      failed = true;
    }
    if (!failed) return settle();
    if (attempt >= maxAttempts) {
      deadLetters.push(body);
      return settle();
    }
    later(backoffMs * 2 ** (attempt - 1), () => void deliver(messageId, body, attempt + 1));
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const target = request.headers['x-amz-target'];
    const reply = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(JSON.stringify(body));
    };
    if (target !== 'AmazonSQS.SendMessage') {
      return reply(400, {
        __type: 'com.amazonaws.sqs#UnsupportedOperation',
        message: `${target} is not supported`,
      });
    }
    const { MessageBody, DelaySeconds = 0 } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
      MessageBody?: string;
      DelaySeconds?: unknown;
    };
    if (typeof MessageBody !== 'string' || MessageBody === '') {
      return reply(400, { __type: 'com.amazonaws.sqs#MissingParameter', message: 'MessageBody is required' });
    }
    if (!Number.isInteger(DelaySeconds) || (DelaySeconds as number) < 0 || (DelaySeconds as number) > 900) {
      return reply(400, {
        __type: 'com.amazonaws.sqs#InvalidParameterValue',
        message: 'DelaySeconds must be an integer from 0 to 900',
      });
    }
    const delayMs = (DelaySeconds as number) * 1000 * queue.delayScale;
    const messageId = randomUUID();
    sent.push(MessageBody);
    delays.push(DelaySeconds as number);
    pending += 1;
    reply(200, {
      MessageId: messageId,
      MD5OfMessageBody: createHash('md5').update(MessageBody).digest('hex'),
    });
    // Asynchronously, as SQS and the event source mapping are: the send never waits for the worker.
    if (delayMs > 0) later(delayMs, () => void deliver(messageId, MessageBody, 1));
    else setImmediate(() => void deliver(messageId, MessageBody, 1));
  };

  const server: Server = createServer((request, response) => {
    handle(request, response).catch(() => {
      response.writeHead(500);
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('The push queue has no port');
  const queue: LocalPushQueue = {
    url: `http://127.0.0.1:${address.port}/000000000000/push-jobs`,
    sent,
    delays,
    delayScale: options.delayScale ?? 1,
    deadLetters,
    idle: () => (pending === 0 ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve))),
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      waiters = [];
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return queue;
}
