/** Per-user limits that concurrency must not get round: the connection cap at `$connect`. */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../../client/index.ts';
import { MAX_CONNECTIONS_PER_USER } from '../../lambdas/domain/connection-middlewares.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
afterEach(() => h.cleanUp());

describe('the connection cap', () => {
  it('holds under 60 concurrent connects: exactly 10 open, 10 on record, the rest refused with 403', {
    timeout: 120_000,
  }, async () => {
    const [busy] = await h.users('swarm');
    const results = await Promise.allSettled(Array.from({ length: 60 }, () => h.connect(busy)));
    const opened = results.filter((r): r is PromiseFulfilledResult<ParleyClient> => r.status === 'fulfilled');
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    expect(opened).toHaveLength(MAX_CONNECTIONS_PER_USER);
    for (const r of refused) expect(r.reason).toMatchObject({ status: 403 });
    expect(h.connectionsOf(busy)).toHaveLength(MAX_CONNECTIONS_PER_USER);
    const [presence] = await h.itemsOf('presence', [busy]);
    expect(Object.keys((presence?.connections as Record<string, unknown>) ?? {})).toHaveLength(
      MAX_CONNECTIONS_PER_USER,
    );
    // Every open one works.
    await Promise.all(opened.map((r) => r.value.request('ping', {})));
  });

  it('an entry past its expiry does not count at the cap: it is dropped and the connect succeeds', async () => {
    const [user] = await h.users('expired');
    const devices = [];
    for (let i = 0; i < MAX_CONNECTIONS_PER_USER - 1; i += 1) devices.push(await h.connect(user));
    // A tenth entry that expired long ago (its $disconnect never came), written straight into the item.
    const { DynamoPresenceStore } = await import('../../lambdas/adapters/presence-store.ts');
    const store = new DynamoPresenceStore();
    await store.addConnection(user, 'expiredAAAAAAAAA=', new Date(0), new Date(1000));
    const tenth = await h.connect(user);
    await tenth.request('ping', {});
    const [presence] = await h.itemsOf('presence', [user]);
    expect(Object.keys((presence?.connections as Record<string, unknown>) ?? {})).not.toContain(
      'expiredAAAAAAAAA=',
    );
  });
});

type Reply = { ok: boolean; error?: { code: string; retryAfterMs?: number } };

/** 1,000 frames from one raw socket of `userId` as fast as it sends them; resolves with the 1,000 replies. */
async function flood(userId: string, frame: (i: number) => string): Promise<Reply[]> {
  const { WebSocket } = await import('ws');
  const { signLocalToken } = await import('../../infra/local/tokens.ts');
  const token = await signLocalToken(userId);
  const ws = await new Promise<import('ws').WebSocket>((resolve, reject) => {
    const socket = new WebSocket(`${h.stack.wsUrl}/?token=${token}`);
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
  const replies: Reply[] = [];
  const done = new Promise<void>((resolve) => {
    ws.on('message', (data) => {
      replies.push(JSON.parse(String(data)));
      if (replies.length === 1000) resolve();
    });
  });
  for (let i = 0; i < 1000; i += 1) ws.send(frame(i));
  await done;
  ws.close();
  return replies;
}

describe('per-user rate limits', () => {
  it('a flood of 1,000 frames from one socket: a burst is served, the rest get RATE_LIMITED with retryAfterMs, and other users are untouched', {
    timeout: 120_000,
  }, async () => {
    const [flooder, bystander] = await h.users('flooder', 'calm');
    h.stack.metrics.reset();
    const replies = await flood(flooder, (i) =>
      JSON.stringify({ action: 'ping', requestId: `p${i}`, data: {} }),
    );
    const served = replies.filter((r) => r.ok).length;
    const limited = replies.filter((r) => r.error?.code === 'RATE_LIMITED');
    // 100 at once, plus what 50 a second refills while the flood lasts.
    expect(served).toBeGreaterThanOrEqual(100);
    expect(served).toBeLessThan(400);
    expect(limited.length).toBe(1000 - served);
    for (const r of limited) expect(r.error?.retryAfterMs).toBeGreaterThan(0);
    // Someone else, meanwhile, is served at once.
    const calm = await h.connect(bystander);
    await calm.request('ping', {});
  });

  it('a refused sendMessage stores nothing and costs no DynamoDB request', { timeout: 120_000 }, async () => {
    const [sender, recipient] = await h.users('spammer', 'target');
    const client = await h.connect(sender);
    h.stack.metrics.reset();
    const results = await Promise.allSettled(
      Array.from({ length: 150 }, (_, i) =>
        client.request('sendMessage', { to: recipient, content: { text: `spam ${i}` } }),
      ),
    );
    const stored = results.filter((r) => r.status === 'fulfilled').length;
    const refused = results.filter(
      (r) => r.status === 'rejected' && (r.reason as { code?: string }).code === 'RATE_LIMITED',
    ).length;
    expect(stored + refused).toBe(150);
    expect(refused).toBeGreaterThan(0);
    const messages = (await h.itemsOf('messages', [sender])).filter((item) => item.from === sender);
    expect(messages).toHaveLength(stored);
    // The refused ones stopped in the wrapper: their invocations made no DynamoDB request.
    const invocations = h.stack.metrics.forRoute('sendMessage');
    expect(invocations).toHaveLength(150);
    expect(invocations.filter((r) => r.dynamoRequests === 0)).toHaveLength(refused);
  });
});

describe('the $default route', () => {
  it('limits a flood of unknown actions and malformed frames per user like any route', {
    timeout: 120_000,
  }, async () => {
    const [flooder] = await h.users('junk');
    const replies = await flood(flooder, (i) =>
      i % 2 === 0 ? JSON.stringify({ action: 'noSuchAction', requestId: `j${i}` }) : `not json ${i}`,
    );
    const refused = replies.filter((r) => r.error?.code === 'BAD_REQUEST').length;
    const limited = replies.filter((r) => r.error?.code === 'RATE_LIMITED');
    expect(refused).toBeGreaterThanOrEqual(100);
    expect(limited.length).toBeGreaterThan(0);
    expect(refused + limited.length).toBe(1000);
    for (const r of limited) expect(r.error?.retryAfterMs).toBeGreaterThan(0);
  });
});
