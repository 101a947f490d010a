/**
 * Random-stranger chat end to end: real WebSocket clients against the local stack, including
 * the race of 50 concurrent joiners, with the DynamoDB requests of each call counted.
 */
import { DeleteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../../client/index.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;
let dynamo: DynamoDBClient;

beforeAll(async () => {
  h = await startHarness();
  dynamo = new DynamoDBClient({ endpoint: h.stack.dynamoEndpoint });
});
afterAll(async () => {
  dynamo?.destroy();
  await h?.stop();
});
beforeEach(() => h.stack.metrics.reset());
afterEach(async () => {
  await h.cleanUp();
  // The waiting slot is one for everyone: a user a test leaves there would be the next test's
  // stranger. Every test ends with the table empty, so whatever is left is this test's.
  const left = await h.items('random');
  if (left.length > 0) {
    await Promise.all(
      left.map((item) =>
        dynamo.send(
          new DeleteItemCommand({ TableName: h.stack.tables.random, Key: marshall({ pk: item.pk }) }),
        ),
      ),
    );
    throw new Error(`Random chat outlived its connections: ${JSON.stringify(left)}`);
  }
});

function requestsOf(routeKey: string, connectionId?: string): number {
  const records = h.stack.metrics
    .forRoute(routeKey)
    .filter((r) => connectionId === undefined || r.connectionId === connectionId);
  const record = records.at(-1);
  if (record === undefined) throw new Error(`No ${routeKey} invocation`);
  return record.dynamoRequests;
}

/** The random table's sessions of `users`, and the slot if one of them holds it, for the invariants. */
async function randomState(users: readonly string[]) {
  const items = await h.items('random');
  const slot = items.find((item) => item.pk === 'queue#waiting');
  return {
    slot: slot !== undefined && users.includes(String(slot.userId)) ? slot : undefined,
    sessions: items.filter((item) => users.includes(String(item.pk))),
  };
}

/** Closes a client and waits for its `$disconnect` to finish. */
async function disconnect(userId: string, client: ParleyClient) {
  const [connectionId] = h.connectionsOf(userId);
  await client.close();
  return h.stack.metrics.waitFor('$disconnect', (r) => r.connectionId === connectionId, 30_000);
}

describe('joinRandom and leaveRandom', () => {
  it('pairs the second joiner with the waiting one; both get randomMatched; they may message', async () => {
    const users = await h.users('ada', 'bea');
    const [adaId, beaId] = users;
    const [ada, bea] = await Promise.all([h.connect(adaId), h.connect(beaId)]);
    expect(await ada.request('joinRandom', {})).toEqual({ status: 'waiting' });
    expect(requestsOf('joinRandom')).toBe(2);
    expect(await bea.request('joinRandom', {})).toEqual({ status: 'matched', partnerId: adaId });
    // The read, the pairing transaction, both users' connections for the events.
    expect(requestsOf('joinRandom')).toBe(3);
    expect(await ada.waitFor('randomMatched')).toEqual({ partnerId: beaId });
    expect(await bea.waitFor('randomMatched')).toEqual({ partnerId: adaId });

    // At most one random chat: joining again answers the same pair and tells no one.
    expect(await ada.request('joinRandom', {})).toEqual({ status: 'matched', partnerId: beaId });
    expect(await bea.request('joinRandom', {})).toEqual({ status: 'matched', partnerId: adaId });

    // Strangers may message without following each other.
    const { message } = await bea.request('sendMessage', { to: adaId, content: { text: 'hi stranger' } });
    expect((await ada.waitFor('message')).message.messageId).toBe(message.messageId);

    expect(await bea.request('leaveRandom', {})).toEqual({});
    expect(requestsOf('leaveRandom')).toBe(3);
    expect(await ada.waitFor('randomEnded')).toEqual({ partnerId: beaId });
    expect(bea.received('randomEnded')).toEqual([]);
    expect(await randomState(users)).toEqual({ slot: undefined, sessions: [] });
    // Neither presence item says any more that a connection holds a random chat.
    const flags = await h.itemsOf('presence', users);
    expect(flags.map((p) => p.randomConnectionId)).toEqual([undefined, undefined]);
    expect(await ada.request('leaveRandom', {})).toEqual({});
    expect(ada.received('randomMatched')).toHaveLength(1);
    await Promise.all([ada.close(), bea.close()]);
  });

  it('a waiting user who leaves or disconnects is no longer in the queue', async () => {
    const users = await h.users('cy', 'dot');
    const [cyId, dotId] = users;
    const [cy, dot] = await Promise.all([h.connect(cyId), h.connect(dotId)]);
    await cy.request('joinRandom', {});
    expect(await cy.request('leaveRandom', {})).toEqual({});
    expect(requestsOf('leaveRandom')).toBe(2);
    expect(await randomState(users)).toEqual({ slot: undefined, sessions: [] });

    await cy.request('joinRandom', {});
    const closed = await disconnect(cyId, cy);
    // The presence write, then the session's read and its removal.
    expect(closed.dynamoRequests).toBe(3);
    expect(await randomState(users)).toEqual({ slot: undefined, sessions: [] });
    expect(await dot.request('joinRandom', {})).toEqual({ status: 'waiting' });
    await dot.request('leaveRandom', {});
    await dot.close();
  });

  it('ends a pair when one side disconnects, and the other is told', async () => {
    const users = await h.users('eli', 'flo');
    const [eliId, floId] = users;
    const [eli, flo] = await Promise.all([h.connect(eliId), h.connect(floId)]);
    const floLaptop = await h.connect(floId);
    await eli.request('joinRandom', {});
    await flo.request('joinRandom', {});
    await floLaptop.waitFor('randomMatched');
    // Another device of the user closing does not end the chat.
    const laptopId = h.connectionsOf(floId).at(-1);
    await floLaptop.close();
    const laptopClosed = await h.stack.metrics.waitFor(
      '$disconnect',
      (r) => r.connectionId === laptopId,
      30_000,
    );
    expect(laptopClosed.dynamoRequests).toBeLessThanOrEqual(2);
    expect((await randomState(users)).sessions).toHaveLength(2);

    const closed = await disconnect(floId, flo);
    expect(closed.dynamoRequests).toBe(4);
    expect(await eli.waitFor('randomEnded')).toEqual({ partnerId: floId });
    expect(await randomState(users)).toEqual({ slot: undefined, sessions: [] });
    // The partner's chat ended with flo's: closing eli is an ordinary disconnect.
    expect((await disconnect(eliId, eli)).dynamoRequests).toBeLessThanOrEqual(2);
  });

  it('never pairs users who block each other', async () => {
    const [gilId, halId, adaId] = await h.users('gil', 'hal', 'ada');
    const [gil, hal, ada] = await Promise.all([h.connect(gilId), h.connect(halId), h.connect(adaId)]);
    await gil.request('block', { userId: halId });
    await gil.request('joinRandom', {});
    await expect(hal.request('joinRandom', {})).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await ada.request('joinRandom', {})).toEqual({ status: 'matched', partnerId: gilId });
    await ada.request('leaveRandom', {});
    await gil.request('unblock', { userId: halId });
    await Promise.all([gil.close(), hal.close(), ada.close()]);
  });

  it('keeps $disconnect within 2 requests for users not in a random chat', async () => {
    const [dotId] = await h.users('dot');
    const dot = await h.connect(dotId);
    // One who was in a random chat and left it is no longer in one either.
    expect(await dot.request('joinRandom', {})).toEqual({ status: 'waiting' });
    expect(await dot.request('leaveRandom', {})).toEqual({});
    const closed = await disconnect(dotId, dot);
    expect(closed.dynamoRequests).toBeLessThanOrEqual(2);
  });
});

describe('50 concurrent joiners', () => {
  it('pairs every one exactly once: no one twice, never two left waiting', async () => {
    const users = await h.users(...Array.from({ length: 50 }, (_, i) => `racer${i}`));
    const clients = await Promise.all(users.map((userId) => h.connect(userId)));
    h.stack.metrics.reset();

    const replies = await Promise.all(
      clients.map((client) => client.request('joinRandom', {}, { timeoutMs: 60_000 })),
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
        const { partnerId } = await client.waitFor('randomMatched', () => true, 30_000);
        partnerOf.set(users[i] as string, partnerId);
      }),
    );
    for (const [user, partner] of partnerOf) {
      expect(partner).not.toBe(user);
      expect(partnerOf.get(partner)).toBe(user);
    }
    expect(new Set(partnerOf.values()).size).toBe(50);
    for (const client of clients) expect(client.received('randomMatched')).toHaveLength(1);

    // The stored state agrees: 50 paired sessions, mutual, and none of them in the slot.
    const { slot, sessions } = await randomState(users);
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
    expect(await randomState(users)).toEqual({ slot: undefined, sessions: [] });
    await Promise.all(clients.map((client) => client.close()));
  }, 180_000);

  it('with an odd number, leaves exactly one waiting', async () => {
    const users = await h.users(...Array.from({ length: 21 }, (_, i) => `odd${i}`));
    const clients = await Promise.all(users.map((userId) => h.connect(userId)));
    const replies = await Promise.all(
      clients.map((client) => client.request('joinRandom', {}, { timeoutMs: 60_000 })),
    );
    expect(replies.filter((r) => r.status === 'matched')).toHaveLength(10);
    const { slot, sessions } = await randomState(users);
    expect(sessions.filter((s) => s.state === 'waiting').map((s) => s.pk)).toEqual([slot?.userId]);
    expect(sessions.filter((s) => s.state === 'paired')).toHaveLength(20);
    await Promise.all(clients.map((client) => client.request('leaveRandom', {})));
    await Promise.all(clients.map((client) => client.close()));
  }, 180_000);
});
