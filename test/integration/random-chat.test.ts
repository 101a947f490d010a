/**
 * Random-stranger chat end to end: real WebSocket clients against the local stack, including
 * the race of 50 concurrent joiners, with the DynamoDB requests of each call counted.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../../client/index.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
  await h.createUsers(['ada', 'bea', 'cy', 'dot', 'eli', 'flo', 'gil', 'hal']);
});
afterAll(() => h?.stop());
beforeEach(() => h.stack.metrics.reset());

function requestsOf(routeKey: string, connectionId?: string): number {
  const records = h.stack.metrics
    .forRoute(routeKey)
    .filter((r) => connectionId === undefined || r.connectionId === connectionId);
  const record = records.at(-1);
  if (record === undefined) throw new Error(`No ${routeKey} invocation`);
  return record.dynamoRequests;
}

/** The random table's sessions and slot, for the invariants. */
async function randomState() {
  const items = await h.items('random');
  return {
    slot: items.find((item) => item.pk === 'queue#waiting'),
    sessions: items.filter((item) => item.pk !== 'queue#waiting'),
  };
}

/** Closes a client and waits for its `$disconnect` to finish. */
async function disconnect(userId: string, client: ParleyClient) {
  const [connectionId] = h.connectionsOf(userId);
  await client.close();
  return h.stack.metrics.waitFor('$disconnect', (r) => r.connectionId === connectionId);
}

describe('joinRandom and leaveRandom', () => {
  it('pairs the second joiner with the waiting one; both get randomMatched; they may message', async () => {
    const [ada, bea] = await Promise.all([h.connect('ada'), h.connect('bea')]);
    expect(await ada.request('joinRandom', {})).toEqual({ status: 'waiting' });
    expect(requestsOf('joinRandom')).toBe(2);
    expect(await bea.request('joinRandom', {})).toEqual({ status: 'matched', partnerId: 'ada' });
    // The read, the pairing transaction, both users' connections for the events.
    expect(requestsOf('joinRandom')).toBe(3);
    expect(await ada.waitFor('randomMatched')).toEqual({ partnerId: 'bea' });
    expect(await bea.waitFor('randomMatched')).toEqual({ partnerId: 'ada' });

    // At most one random chat: joining again answers the same pair and tells no one.
    expect(await ada.request('joinRandom', {})).toEqual({ status: 'matched', partnerId: 'bea' });
    expect(await bea.request('joinRandom', {})).toEqual({ status: 'matched', partnerId: 'ada' });

    // Strangers may message without following each other.
    const { message } = await bea.request('sendMessage', { to: 'ada', content: { text: 'hi stranger' } });
    expect((await ada.waitFor('message')).message.messageId).toBe(message.messageId);

    expect(await bea.request('leaveRandom', {})).toEqual({});
    expect(requestsOf('leaveRandom')).toBe(3);
    expect(await ada.waitFor('randomEnded')).toEqual({ partnerId: 'bea' });
    expect(bea.received('randomEnded')).toEqual([]);
    expect(await randomState()).toEqual({ slot: undefined, sessions: [] });
    // Neither presence item says any more that a connection holds a random chat.
    const flags = (await h.items('presence')).filter((p) => p.userId === 'ada' || p.userId === 'bea');
    expect(flags.map((p) => p.randomConnectionId)).toEqual([undefined, undefined]);
    expect(await ada.request('leaveRandom', {})).toEqual({});
    expect(ada.received('randomMatched')).toHaveLength(1);
    await Promise.all([ada.close(), bea.close()]);
  });

  it('a waiting user who leaves or disconnects is no longer in the queue', async () => {
    const [cy, dot] = await Promise.all([h.connect('cy'), h.connect('dot')]);
    await cy.request('joinRandom', {});
    expect(await cy.request('leaveRandom', {})).toEqual({});
    expect(requestsOf('leaveRandom')).toBe(2);
    expect(await randomState()).toEqual({ slot: undefined, sessions: [] });

    await cy.request('joinRandom', {});
    const closed = await disconnect('cy', cy);
    // The presence write, then the session's read and its removal.
    expect(closed.dynamoRequests).toBe(3);
    expect(await randomState()).toEqual({ slot: undefined, sessions: [] });
    expect(await dot.request('joinRandom', {})).toEqual({ status: 'waiting' });
    await dot.request('leaveRandom', {});
    await dot.close();
  });

  it('ends a pair when one side disconnects, and the other is told', async () => {
    const [eli, flo] = await Promise.all([h.connect('eli'), h.connect('flo')]);
    const floLaptop = await h.connect('flo');
    await eli.request('joinRandom', {});
    await flo.request('joinRandom', {});
    await floLaptop.waitFor('randomMatched');
    // Another device of the user closing does not end the chat.
    const laptopId = h.connectionsOf('flo').at(-1);
    await floLaptop.close();
    const laptopClosed = await h.stack.metrics.waitFor('$disconnect', (r) => r.connectionId === laptopId);
    expect(laptopClosed.dynamoRequests).toBeLessThanOrEqual(2);
    expect((await randomState()).sessions).toHaveLength(2);

    const closed = await disconnect('flo', flo);
    expect(closed.dynamoRequests).toBe(4);
    expect(await eli.waitFor('randomEnded')).toEqual({ partnerId: 'flo' });
    expect(await randomState()).toEqual({ slot: undefined, sessions: [] });
    // The partner's chat ended with flo's: closing eli is an ordinary disconnect.
    expect((await disconnect('eli', eli)).dynamoRequests).toBeLessThanOrEqual(2);
  });

  it('never pairs users who block each other', async () => {
    const [gil, hal, ada] = await Promise.all([h.connect('gil'), h.connect('hal'), h.connect('ada')]);
    await gil.request('block', { userId: 'hal' });
    await gil.request('joinRandom', {});
    await expect(hal.request('joinRandom', {})).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await ada.request('joinRandom', {})).toEqual({ status: 'matched', partnerId: 'gil' });
    await ada.request('leaveRandom', {});
    await gil.request('unblock', { userId: 'hal' });
    await Promise.all([gil.close(), hal.close(), ada.close()]);
  });

  it('keeps $disconnect within 2 requests for users not in a random chat', async () => {
    const dot = await h.connect('dot');
    const closed = await disconnect('dot', dot);
    expect(closed.dynamoRequests).toBeLessThanOrEqual(2);
  });
});

describe('50 concurrent joiners', () => {
  it('pairs every one exactly once: no one twice, never two left waiting', async () => {
    const users = Array.from({ length: 50 }, (_, i) => `racer${i}`);
    await h.createUsers(users);
    const clients = await Promise.all(users.map((userId) => h.connect(userId)));
    h.stack.metrics.reset();

    const replies = await Promise.all(
      clients.map((client) => client.request('joinRandom', {}, { timeoutMs: 30_000 })),
    );

    const matched = replies.filter((r) => r.status === 'matched');
    const waiting = replies.filter((r) => r.status === 'waiting');
    // Each pair has exactly one joiner who found the other waiting.
    expect(matched).toHaveLength(25);
    expect(waiting).toHaveLength(25);

    // Every user gets exactly one randomMatched, and partners name each other.
    const partnerOf = new Map<string, string>();
    await Promise.all(
      clients.map(async (client, i) => {
        const { partnerId } = await client.waitFor('randomMatched', () => true, 10_000);
        partnerOf.set(users[i] as string, partnerId);
      }),
    );
    for (const [user, partner] of partnerOf) {
      expect(partner).not.toBe(user);
      expect(partnerOf.get(partner)).toBe(user);
    }
    expect(new Set(partnerOf.values()).size).toBe(50);
    for (const client of clients) expect(client.received('randomMatched')).toHaveLength(1);

    // The stored state agrees: 50 paired sessions, mutual, and nobody in the slot.
    const { slot, sessions } = await randomState();
    expect(slot).toBeUndefined();
    expect(sessions).toHaveLength(50);
    for (const session of sessions) {
      expect(session.state).toBe('paired');
      expect(partnerOf.get(String(session.pk))).toBe(session.partnerId);
    }
    const attempts = h.stack.metrics.forRoute('joinRandom').map((r) => r.dynamoRequests);
    console.info(
      'joinRandom DynamoDB requests under contention: max',
      Math.max(...attempts),
      'total',
      attempts.reduce((a, b) => a + b, 0),
    );

    await Promise.all(clients.map((client) => client.request('leaveRandom', {})));
    expect(await randomState()).toEqual({ slot: undefined, sessions: [] });
    await Promise.all(clients.map((client) => client.close()));
  }, 60_000);

  it('with an odd number, leaves exactly one waiting', async () => {
    const users = Array.from({ length: 21 }, (_, i) => `odd${i}`);
    await h.createUsers(users);
    const clients = await Promise.all(users.map((userId) => h.connect(userId)));
    const replies = await Promise.all(
      clients.map((client) => client.request('joinRandom', {}, { timeoutMs: 30_000 })),
    );
    expect(replies.filter((r) => r.status === 'matched')).toHaveLength(10);
    const { slot, sessions } = await randomState();
    expect(sessions.filter((s) => s.state === 'waiting').map((s) => s.pk)).toEqual([slot?.userId]);
    expect(sessions.filter((s) => s.state === 'paired')).toHaveLength(20);
    await Promise.all(clients.map((client) => client.request('leaveRandom', {})));
    await Promise.all(clients.map((client) => client.close()));
  }, 60_000);
});
