/**
 * A failed push is retried on the local stack, to the failed target only: the worker puts a
 * delayed job for it on the push queue (SQS's DelaySeconds), and every target ends with one
 * notification per message.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PushJob } from '../../lambdas/domain/push-notifications.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;

/**
 * A push service in front of the local one that answers 500 to the first push for each
 * subscription and passes every later one through (headers and encrypted body as sent).
 */
interface FlakyPushService {
  readonly url: string;
  /** What it answered, per path, in order. */
  readonly answers: Map<string, number[]>;
  stop(): Promise<void>;
}

async function startFlakyPushService(upstream: string): Promise<FlakyPushService> {
  const answers = new Map<string, number[]>();
  const forward = async (request: IncomingMessage, body: Buffer): Promise<number> => {
    const path = request.url ?? '/';
    const seen = answers.get(path) ?? [];
    answers.set(path, seen);
    if (seen.length === 0) return 500;
    const headers = Object.entries(request.headers).flatMap(([name, value]) =>
      typeof value === 'string' && name !== 'host' && name !== 'connection'
        ? [[name, value] as [string, string]]
        : [],
    );
    const response = await fetch(`${upstream}${path}`, { method: request.method ?? 'POST', headers, body });
    await response.arrayBuffer();
    return response.status;
  };
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const path = request.url ?? '/';
      forward(request, Buffer.concat(chunks))
        .catch(() => 502)
        .then((status) => {
          answers.get(path)?.push(status);
          response.writeHead(status);
          response.end();
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `http://127.0.0.1:${address.port}`,
    answers,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

let flaky: FlakyPushService;

beforeAll(async () => {
  h = await startHarness();
  flaky = await startFlakyPushService(h.stack.push.webPush.url);
  // A retry waits a hundredth of its DelaySeconds (50-100 ms instead of 5-10 s).
  h.stack.push.queue.delayScale = 0.01;
});
afterAll(async () => {
  await flaky?.stop();
  await h?.stop();
});
afterEach(() => h.cleanUp());

const webSubscription = () => h.stack.push.webPush.subscribe(h.stack.push.vapidKeys.publicKey);
const received = async (clientHash: string) =>
  (await h.stack.push.webPush.received(clientHash)).map(
    (payload) => JSON.parse(payload) as { title: string; body: string; data: Record<string, string> },
  );

describe('a failed push', () => {
  it('is retried after a delay for its target only, so each target gets exactly one notification', async () => {
    const [ann, bob, cat] = await h.users('ann', 'bob', 'cat');
    const [bobPhone, bobLaptop, catPhone] = [
      await webSubscription(),
      await webSubscription(),
      await webSubscription(),
    ];
    // bob's phone is reached through the flaky service: its first push answers 500.
    const flakyEndpoint = `${flaky.url}${new URL(bobPhone.endpoint).pathname}`;
    const bobDevice = await h.connect(bob);
    const { pushId: flakyId } = await bobDevice.request('registerPush', {
      platform: 'webpush',
      subscription: { endpoint: flakyEndpoint, keys: bobPhone.keys },
    });
    await bobDevice.request('registerPush', {
      platform: 'webpush',
      subscription: { endpoint: bobLaptop.endpoint, keys: bobLaptop.keys },
    });
    const catDevice = await h.connect(cat);
    await catDevice.request('registerPush', {
      platform: 'webpush',
      subscription: { endpoint: catPhone.endpoint, keys: catPhone.keys },
    });
    const annPhone = await h.connect(ann);
    const { conversation } = await annPhone.request('createGroup', { title: 'Retry', memberIds: [bob, cat] });
    await h.cleanUp(); // everyone offline, their $disconnects done

    const annAgain = await h.connect(ann);
    const jobsBefore = h.stack.push.queue.sent.length;
    const { message } = await annAgain.request('sendMessage', {
      conversationId: conversation.conversationId,
      content: { text: 'once each' },
    });
    await h.stack.push.queue.idle();

    const notification = {
      title: `${ann} (Retry)`,
      body: 'New message',
      data: { conversationId: conversation.conversationId, messageId: message.messageId },
    };
    for (const sub of [bobPhone, bobLaptop, catPhone]) {
      expect(await received(sub.clientHash)).toEqual([notification]);
    }
    // The flaky service refused the first push and passed the second (201 from the real service).
    expect(flaky.answers.get(new URL(bobPhone.endpoint).pathname)).toEqual([500, 201]);

    // Two jobs: the send's, and the worker's retry naming only bob's phone, delayed 5-10 s.
    const jobs = h.stack.push.queue.sent.slice(jobsBefore).map((body) => JSON.parse(body) as PushJob);
    const delays = h.stack.push.queue.delays.slice(jobsBefore);
    expect(jobs).toHaveLength(2);
    expect([...(jobs[0]?.recipients ?? [])].sort()).toEqual([bob, cat].sort());
    expect(jobs[1]).toEqual({ ...jobs[0], recipients: [bob], only: { [bob]: [flakyId] }, attempt: 2 });
    expect(delays[0]).toBe(0);
    expect(delays[1]).toBeGreaterThanOrEqual(5);
    expect(delays[1]).toBeLessThanOrEqual(10);
    expect(h.stack.push.queue.deadLetters).toEqual([]);
  }, 120_000);
});
