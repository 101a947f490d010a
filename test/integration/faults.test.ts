/**
 * The fault suite: messages sent through real sockets while the local stack's fault proxies
 * (infra/local/fault-proxy.ts) throttle, fail, delay and drop DynamoDB requests, take DynamoDB
 * away for seconds, or hang one device's pushes. A client that retries as docs/architecture.md
 * says ("What a client must do") loses nothing and stores nothing twice, and every acknowledged
 * message reaches every device that stayed connected, live.
 */
import { ulid } from 'ulid';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../../client/index.ts';
import type { FaultRule } from '../../infra/local/fault-proxy.ts';
import type { Message } from '../../protocol/index.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ faults: true });
});
afterAll(() => h?.stop());
afterEach(async () => {
  h.stack.faults?.dynamodb.clear();
  h.stack.faults?.management.clear();
  await h.cleanUp();
});

/** What a client retries: our own failures, a dependency's, API Gateway's, and no answer in time. */
const RETRYABLE = new Set(['INTERNAL', 'SERVICE_UNAVAILABLE', 'RATE_LIMITED', 'GATEWAY_ERROR', 'TIMEOUT']);

/** Sends once, as a careful client does: one ULID clientMessageId, retried until acknowledged. */
async function sendReliably(
  client: ParleyClient,
  data: { to?: string; conversationId?: string },
  text: string,
) {
  const clientMessageId = ulid();
  for (let attempt = 1; ; attempt += 1) {
    try {
      return (await client.request('sendMessage', { ...data, content: { text }, clientMessageId } as never))
        .message as Message;
    } catch (error) {
      const { code, reply } = error as { code?: string; reply?: { error?: { retryAfterMs?: number } } };
      if (attempt >= 30 || code === undefined || !RETRYABLE.has(code)) throw error;
      const retryAfterMs = reply?.error?.retryAfterMs;
      await new Promise((resolve) => setTimeout(resolve, Math.min(retryAfterMs ?? 200, 500)));
    }
  }
}

interface Report {
  sent: number;
  acknowledged: number;
  deliveredLive: number;
  expectedLive: number;
  lost: number;
  duplicated: number;
}

/**
 * ann (phone and laptop) writes `count` messages, alternately to bob (two devices) and to a group
 * with bob and cat, under `rules`; then the faults are lifted and history is read.
 */
async function scenario(
  name: string,
  rules: readonly { target: 'dynamodb' | 'management'; rule: FaultRule }[],
  count: number,
  during?: (devices: { bobPhone: ParleyClient }) => Promise<void>,
) {
  const [ann, bob, cat] = (await h.users('ann', 'bob', 'cat')) as [string, string, string];
  const annPhone = await h.connect(ann);
  const annLaptop = await h.connect(ann);
  const bobPhone = await h.connect(bob);
  const bobTablet = await h.connect(bob);
  const catPhone = await h.connect(cat);
  const { conversation } = await annPhone.request('createGroup', { title: name, memberIds: [bob, cat] });
  const faults = h.stack.faults;
  if (faults === undefined) throw new Error('the stack runs without fault proxies');
  for (const { target, rule } of rules) faults[target].inject(rule);
  const texts = Array.from({ length: count }, (_, i) => `${name} ${i}`);
  const acknowledged: Message[] = [];
  const sending = (async () => {
    for (const [i, text] of texts.entries()) {
      const to = i % 2 === 0 ? { to: bob } : { conversationId: conversation.conversationId };
      acknowledged.push(await sendReliably(annPhone, to, text));
    }
  })();
  await Promise.all([sending, during?.({ bobPhone })]);
  faults.dynamodb.clear();
  faults.management.clear();

  // Live: every acknowledged message at each device that stayed connected (the group ones at cat's too).
  let deliveredLive = 0;
  let expectedLive = 0;
  for (const message of acknowledged) {
    const devices =
      message.to === undefined
        ? [annLaptop, bobPhone, bobTablet, catPhone]
        : [annLaptop, bobPhone, bobTablet];
    for (const device of devices) {
      expectedLive += 1;
      const got = await device
        .waitFor('message', (e) => e.message.messageId === message.messageId, 20_000)
        .then(
          () => true,
          () => false,
        );
      if (got) deliveredLive += 1;
    }
  }
  // Stored: each text once in its conversation's history.
  const stored = [
    ...(await bobPhone.request('getHistory', { with: ann, limit: 100 })).messages,
    ...(await bobPhone.request('getHistory', { conversationId: conversation.conversationId, limit: 100 }))
      .messages,
  ].filter((m) => m.content?.text?.startsWith(`${name} `));
  const storedTexts = stored.map((m) => m.content?.text);
  const report: Report = {
    sent: texts.length,
    acknowledged: acknowledged.length,
    deliveredLive,
    expectedLive,
    lost: texts.filter((text) => !storedTexts.includes(text)).length,
    duplicated: storedTexts.length - new Set(storedTexts).size,
  };
  const injected = [...faults.dynamodb.counts, ...faults.management.counts].filter(([key]) =>
    key.includes(':'),
  );
  console.info(
    `faults ${name}: ${JSON.stringify(report)}; injected ${JSON.stringify(Object.fromEntries(injected))}`,
  );
  faults.dynamodb.counts.clear();
  faults.management.counts.clear();
  return report;
}

const WRITES = ['PutItem', 'UpdateItem', 'TransactWriteItems'];

describe('delivery under faults', () => {
  const holds = (report: Report) => {
    expect(report.acknowledged).toBe(report.sent);
    expect(report.lost).toBe(0);
    expect(report.duplicated).toBe(0);
    expect(report.deliveredLive).toBe(report.expectedLive);
  };

  it('DynamoDB throttling 10 % of requests', async () => {
    holds(
      await scenario('throttled', [{ target: 'dynamodb', rule: { kind: 'throttle', probability: 0.1 } }], 20),
    );
  }, 180_000);

  it('500s after 30 % of writes took effect (the response lost)', async () => {
    holds(
      await scenario(
        'lost-responses',
        [{ target: 'dynamodb', rule: { kind: 'error-after', operations: WRITES, probability: 0.3 } }],
        20,
      ),
    );
  }, 180_000);

  it('connections dropped after 10 % of requests took effect', async () => {
    holds(
      await scenario('dropped', [{ target: 'dynamodb', rule: { kind: 'drop-after', probability: 0.1 } }], 20),
    );
  }, 180_000);

  it('latency of 0.2 to 1.5 s on every request', async () => {
    holds(
      await scenario(
        'slow',
        [{ target: 'dynamodb', rule: { kind: 'delay', delayMs: 200, maxDelayMs: 1500 } }],
        8,
      ),
    );
  }, 240_000);

  it('5 % of requests never answered (the SDK cuts each attempt after 4 s and retries)', async () => {
    holds(await scenario('hung', [{ target: 'dynamodb', rule: { kind: 'hang', probability: 0.05 } }], 10));
  }, 240_000);

  it('an outage of DynamoDB for 4 s while sending', async () => {
    holds(
      await scenario('outage', [], 10, async () => {
        const faults = h.stack.faults;
        await new Promise((resolve) => setTimeout(resolve, 300));
        faults?.dynamodb.inject({ kind: 'drop-before' });
        await new Promise((resolve) => setTimeout(resolve, 4000));
        faults?.dynamodb.clear();
      }),
    );
  }, 240_000);

  it('one device whose pushes hang holds neither the replies nor the other devices', async () => {
    const [ann, bob] = (await h.users('ann', 'bob')) as [string, string];
    const annPhone = await h.connect(ann);
    const bobPhone = await h.connect(bob);
    const [phoneId] = h.connectionsOf(bob);
    const bobStuck = await h.connect(bob);
    const stuckId = h.connectionsOf(bob).find((id) => id !== phoneId) as string;
    h.stack.faults?.management.inject({ kind: 'hang', pathIncludes: encodeURIComponent(stuckId) });
    const sent: Message[] = [];
    for (let i = 0; i < 3; i += 1) {
      const message = await sendReliably(annPhone, { to: bob }, `past a stuck device ${i}`);
      sent.push(message);
      await bobPhone.waitFor('message', (e) => e.message.messageId === message.messageId);
    }
    // Each post is tried twice (the Management API client's one retry after its 2 s timeout).
    expect(h.stack.faults?.management.counts.get('PostToConnection:hang')).toBe(6);
    expect(bobStuck.received('message')).toEqual([]);
    // The stuck device finds them in getUnread.
    h.stack.faults?.management.clear();
    const unread = await bobStuck.request('getUnread', {});
    expect(unread.messages.map((m) => m.messageId)).toEqual(sent.map((m) => m.messageId));
  }, 180_000);
});

describe('function timeouts', () => {
  it('a function past its timeout answers "Internal server error", as API Gateway does, and a retry stores the message once', async () => {
    const [ann, bob] = (await h.users('ann', 'bob')) as [string, string];
    const annPhone = await h.connect(ann);
    const bobPhone = await h.connect(bob);
    h.stack.gateway.functionTimeoutMs = 1000;
    h.stack.faults?.dynamodb.inject({ kind: 'delay', delayMs: 1500, operations: ['PutItem'] });
    const clientMessageId = ulid();
    const data = { to: bob, content: { text: 'slow' }, clientMessageId };
    try {
      await expect(annPhone.request('sendMessage', data)).rejects.toMatchObject({
        code: 'GATEWAY_ERROR',
        message: expect.stringContaining('Internal server error'),
      });
    } finally {
      h.stack.gateway.functionTimeoutMs = undefined;
      h.stack.faults?.dynamodb.clear();
    }
    const { message } = await annPhone.request('sendMessage', data);
    await bobPhone.waitFor('message', (e) => e.message.messageId === message.messageId);
    const history = await bobPhone.request('getHistory', { with: ann });
    expect(history.messages.filter((m) => m.content?.text === 'slow')).toHaveLength(1);
  }, 120_000);
});
