/**
 * A push job end to end on this machine: the send path's SQS adapter → the local push queue →
 * the push worker's batch handling → real, encrypted Web Push to web-push-testing.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import webPush from 'web-push';
import { type LocalPushQueue, startLocalPushQueue } from '../../infra/local/push-queue.ts';
import { startWebPushService, type WebPushService } from '../../infra/local/web-push-service.ts';
import { SqsPushJobQueue } from '../../lambdas/adapters/push-jobs.ts';
import { LibraryWebPushSender } from '../../lambdas/adapters/web-push-sender.ts';
import type { PushTarget } from '../../lambdas/domain/push.ts';
import {
  deliverPushBatch,
  type Notification,
  type PushJob,
  queuePushJob,
  type WebPushOutcome,
} from '../../lambdas/domain/push-notifications.ts';

const vapid = { ...webPush.generateVAPIDKeys(), subject: 'mailto:test@parley.invalid' };
let service: WebPushService;
let queue: LocalPushQueue;
/** userId → targets, what the worker's BatchGetItem would read. */
const targets = new Map<string, PushTarget[]>();
const removed: string[] = [];
let flakyOnce = new Set<string>();
const realSender = new LibraryWebPushSender(async () => vapid);
const sender = {
  async send(target: PushTarget, notification: Notification): Promise<WebPushOutcome> {
    if (flakyOnce.delete(target.pushId)) return 'failed';
    return realSender.send(target, notification);
  },
};
const worker = async (event: SQSEvent) => {
  const retry = await deliverPushBatch(
    {
      sender,
      audience: {
        audience: async (_from, recipients) => ({
          senderName: 'Ann',
          targets: new Map(
            recipients.flatMap((r) => (targets.has(r) ? [[r, targets.get(r) ?? []] as const] : [])),
          ),
        }),
        remove: async (userId, pushId) => {
          removed.push(`${userId}/${pushId}`);
          targets.set(
            userId,
            (targets.get(userId) ?? []).filter((t) => t.pushId !== pushId),
          );
        },
      },
      // The worker's retries go back on the same queue, through the same adapter.
      retries: { enqueue: (job, delaySeconds) => jobs().enqueue(job, delaySeconds) },
    },
    event.Records.map((r) => ({ id: r.messageId, body: r.body })),
  );
  return { batchItemFailures: retry.map((itemIdentifier) => ({ itemIdentifier })) };
};

beforeAll(async () => {
  service = await startWebPushService();
  // Retries wait a thousandth of their DelaySeconds: 5-10 ms for a first retry.
  queue = await startLocalPushQueue(worker, { backoffMs: 50, maxAttempts: 3, delayScale: 0.001 });
});
afterAll(async () => {
  await queue?.stop();
  await service?.stop();
});

const subscribe = async (userId: string, previews: boolean) => {
  const sub = await service.subscribe(vapid.publicKey);
  const target: PushTarget = {
    pushId: sub.clientHash.slice(0, 22),
    platform: 'webpush',
    endpoint: sub.endpoint,
    keys: sub.keys,
    previews,
    createdAt: '2026-01-01T00:00:00.000Z',
  };
  targets.set(userId, [...(targets.get(userId) ?? []), target]);
  return { ...sub, target };
};

const jobs = () =>
  new SqsPushJobQueue(
    new SQSClient({
      endpoint: new URL(queue.url).origin,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    }),
    queue.url,
  );
const message = (messageId: string, text: string) => ({
  messageId,
  conversationId: 'ann#bob',
  from: 'ann',
  to: 'bob',
  content: { text },
  sentAt: '2026-01-01T00:00:00.000Z',
});
const received = async (clientHash: string) =>
  (await service.received(clientHash)).map((m) => JSON.parse(m) as Notification);

describe('a push job on the local queue', () => {
  it('reaches each target of an offline recipient once, with previews only where chosen', async () => {
    const phone = await subscribe('bob', true);
    const laptop = await subscribe('bob', false);
    await queuePushJob(
      jobs(),
      message('m1', 'see you at 8'),
      ['ann', 'bob'],
      [{ userId: 'ann', connectionId: 'a' }],
    );
    await queue.idle();
    expect(await received(phone.clientHash)).toEqual([
      { title: 'Ann', body: 'see you at 8', data: { conversationId: 'ann#bob', messageId: 'm1' } },
    ]);
    expect(await received(laptop.clientHash)).toEqual([
      { title: 'Ann', body: 'New message', data: { conversationId: 'ann#bob', messageId: 'm1' } },
    ]);
    // Online: no job at all.
    await queuePushJob(jobs(), message('m2', 'x'), ['ann', 'bob'], [{ userId: 'bob', connectionId: 'b' }]);
    await queue.idle();
    expect(await received(phone.clientHash)).toHaveLength(1);
  });

  it('deletes a target its push service reports gone, and retries a failed push, to that target only, after a delay', async () => {
    const gone = await subscribe('cat', false);
    const flaky = await subscribe('cat', false);
    const steady = await subscribe('cat', false);
    await service.expire(gone.clientHash);
    flakyOnce = new Set([flaky.target.pushId]);
    const sentBefore = queue.sent.length;
    await queuePushJob(
      jobs(),
      { ...message('m3', 'hi'), conversationId: 'ann#cat', to: 'cat' },
      ['ann', 'cat'],
      [],
    );
    await queue.idle();
    expect(removed).toContain(`cat/${gone.target.pushId}`);
    // The retry named the flaky target only: each target got the notification once.
    expect((await received(flaky.clientHash)).map((n) => n.data.messageId)).toEqual(['m3']);
    expect((await received(steady.clientHash)).map((n) => n.data.messageId)).toEqual(['m3']);
    const [first, retry] = queue.sent.slice(sentBefore).map((body) => JSON.parse(body) as PushJob);
    expect(retry).toEqual({
      ...first,
      recipients: ['cat'],
      only: { cat: [flaky.target.pushId] },
      attempt: 2,
    });
    const [firstDelay, retryDelay = 0] = queue.delays.slice(sentBefore);
    expect(firstDelay).toBe(0);
    expect(retryDelay).toBeGreaterThanOrEqual(5);
    expect(retryDelay).toBeLessThanOrEqual(10);
    expect(queue.sent).toHaveLength(sentBefore + 2);
    expect(queue.deadLetters).toEqual([]);
  });
});

describe('DelaySeconds on the local queue', () => {
  afterEach(() => vi.useRealTimers());

  it('hands a delayed job to the worker only once its delay has passed, and refuses a delay SQS refuses', async () => {
    const bodies: string[] = [];
    // The queue's timers are fake (its HTTP server and the SDK are not): time moves only when told.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const delayed = await startLocalPushQueue(
      async (event) => {
        bodies.push(...event.Records.map((r) => r.body));
        return { batchItemFailures: [] };
      },
      { delayScale: 1 },
    );
    try {
      const client = new SQSClient({
        endpoint: new URL(delayed.url).origin,
        region: 'us-east-1',
        credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
      });
      const adapter = new SqsPushJobQueue(client, delayed.url);
      const job = (messageId: string): PushJob => ({
        conversationId: 'ann#bob',
        messageId,
        from: 'ann',
        recipients: ['bob'],
      });
      await adapter.enqueue(job('later'), 30);
      await adapter.enqueue(job('now'));
      // The undelayed one is handed over at once; the delayed one waits for its 30 s.
      await vi.waitFor(() => expect(bodies.map((b) => JSON.parse(b).messageId)).toEqual(['now']));
      await vi.advanceTimersByTimeAsync(29_000);
      expect(bodies).toHaveLength(1);
      await vi.advanceTimersByTimeAsync(1_000);
      await delayed.idle();
      expect(bodies.map((b) => JSON.parse(b).messageId)).toEqual(['now', 'later']);
      expect(delayed.delays).toEqual([30, 0]);

      await expect(adapter.enqueue(job('too-late'), 901)).rejects.toMatchObject({
        name: 'InvalidParameterValue',
      });
      expect(delayed.sent).toHaveLength(2);
    } finally {
      vi.useRealTimers();
      await delayed.stop();
    }
  });
});
