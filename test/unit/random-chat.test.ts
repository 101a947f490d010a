import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { PresenceItems } from '../../lambdas/adapters/presence-item.ts';
import { DynamoPresenceStore } from '../../lambdas/adapters/presence-store.ts';
import { openConnection } from '../../lambdas/domain/presence.ts';
import {
  endRandomChatOf,
  joinRandom,
  leaveRandom,
  type RandomSession,
} from '../../lambdas/domain/random-chat.ts';
import { callerAs, FakeDeliveryTargets, FakePresence, FakePusher } from './fakes.ts';
import { FakeRandom } from './social-fakes.ts';

const now = new Date('2026-11-22T10:00:00Z');
const nowSeconds = now.getTime() / 1000;

describe('random chat use cases', () => {
  let random: FakeRandom;
  let presence: FakePresence;
  let pusher: FakePusher;
  let deps: { random: FakeRandom; targets: FakeDeliveryTargets; pusher: FakePusher };

  beforeEach(async () => {
    random = new FakeRandom();
    presence = new FakePresence();
    pusher = new FakePusher();
    deps = { random, targets: new FakeDeliveryTargets(presence), pusher };
    for (const user of ['ann', 'bob', 'cat']) await openConnection(presence, {}, callerAs(user, now));
    await openConnection(presence, {}, callerAs('ann', now, 'ann-laptop'));
  });

  const events = () => pusher.posts.map((p) => [p.connectionId, p.frame]);

  it('queues the first joiner and pairs the second; every device of both hears of it', async () => {
    expect(await joinRandom(deps, {}, { userId: 'ann', connectionId: 'ann-phone', now })).toEqual({
      status: 'waiting',
    });
    expect(pusher.posts).toEqual([]);
    expect(await joinRandom(deps, {}, { userId: 'bob', connectionId: 'bob-phone', now })).toEqual({
      status: 'matched',
      partnerId: 'ann',
    });
    const matched = (partnerId: string) => ({ type: 'event', event: 'randomMatched', data: { partnerId } });
    expect(events()).toEqual(
      expect.arrayContaining([
        ['ann-phone', matched('bob')],
        ['ann-laptop', matched('bob')],
        ['bob-phone', matched('ann')],
      ]),
    );
    expect(pusher.posts).toHaveLength(3);
    expect(random.slot).toBeUndefined();
    expect(random.flags).toEqual(
      new Map([
        ['ann', 'ann-phone'],
        ['bob', 'bob-phone'],
      ]),
    );
  });

  it('is idempotent: a user in a random chat gets its state back, whatever the device', async () => {
    await joinRandom(deps, {}, { userId: 'ann', connectionId: 'ann-phone', now });
    expect(await joinRandom(deps, {}, { userId: 'ann', connectionId: 'ann-laptop', now })).toEqual({
      status: 'waiting',
    });
    await joinRandom(deps, {}, { userId: 'bob', connectionId: 'bob-phone', now });
    pusher.posts.length = 0;
    expect(await joinRandom(deps, {}, { userId: 'ann', connectionId: 'ann-laptop', now })).toEqual({
      status: 'matched',
      partnerId: 'bob',
    });
    expect(await joinRandom(deps, {}, { userId: 'bob', connectionId: 'bob-phone', now })).toEqual({
      status: 'matched',
      partnerId: 'ann',
    });
    expect(pusher.posts).toEqual([]);
  });

  it('never pairs across a block', async () => {
    random.graph.blocks.add('ann>bob');
    await joinRandom(deps, {}, { userId: 'ann', connectionId: 'ann-phone', now });
    await expect(
      joinRandom(deps, {}, { userId: 'bob', connectionId: 'bob-phone', now }),
    ).rejects.toMatchObject({ code: 'CONFLICT' });
    expect(await joinRandom(deps, {}, { userId: 'cat', connectionId: 'cat-phone', now })).toEqual({
      status: 'matched',
      partnerId: 'ann',
    });
  });

  it('replaces a waiter whose session outlived any connection, and ignores a stale own session', async () => {
    const stale: RandomSession = {
      userId: 'ann',
      state: 'waiting',
      connectionId: 'old',
      expiresAt: nowSeconds - 1,
    };
    random.sessions.set('ann', stale);
    random.slot = { userId: 'ann', connectionId: 'old', expiresAt: nowSeconds - 1 };
    expect(await joinRandom(deps, {}, { userId: 'bob', connectionId: 'bob-phone', now })).toEqual({
      status: 'waiting',
    });
    expect(random.sessions.has('ann')).toBe(false);
    expect(await joinRandom(deps, {}, { userId: 'ann', connectionId: 'ann-phone', now })).toEqual({
      status: 'matched',
      partnerId: 'bob',
    });
  });

  it('leaveRandom ends the pair and tells the partner’s devices and the leaver’s other ones', async () => {
    await joinRandom(deps, {}, { userId: 'ann', connectionId: 'ann-phone', now });
    await joinRandom(deps, {}, { userId: 'bob', connectionId: 'bob-phone', now });
    pusher.posts.length = 0;
    expect(await leaveRandom(deps, {}, { userId: 'bob', connectionId: 'bob-phone', now })).toEqual({});
    expect(events()).toEqual(
      expect.arrayContaining([
        ['ann-phone', { type: 'event', event: 'randomEnded', data: { partnerId: 'bob' } }],
        ['ann-laptop', { type: 'event', event: 'randomEnded', data: { partnerId: 'bob' } }],
      ]),
    );
    expect(pusher.posts).toHaveLength(2);
    expect(random.sessions.size).toBe(0);
    expect(await leaveRandom(deps, {}, { userId: 'bob', connectionId: 'bob-phone', now })).toEqual({});
  });

  it('leaving the queue tells no one and frees the slot', async () => {
    await joinRandom(deps, {}, { userId: 'ann', connectionId: 'ann-phone', now });
    await leaveRandom(deps, {}, { userId: 'ann', connectionId: 'ann-laptop', now });
    expect(random.slot).toBeUndefined();
    expect(pusher.posts).toEqual([]);
    expect(await joinRandom(deps, {}, { userId: 'bob', connectionId: 'bob-phone', now })).toEqual({
      status: 'waiting',
    });
  });

  it('a disconnect ends the chat only if it closes the connection that holds it', async () => {
    await joinRandom(deps, {}, { userId: 'ann', connectionId: 'ann-phone', now });
    await joinRandom(deps, {}, { userId: 'bob', connectionId: 'bob-phone', now });
    pusher.posts.length = 0;
    await endRandomChatOf(deps, {}, { userId: 'ann', connectionId: 'ann-laptop', now });
    expect(random.sessions.size).toBe(2);
    await endRandomChatOf(deps, {}, { userId: 'ann', connectionId: 'ann-phone', now });
    expect(random.sessions.size).toBe(0);
    expect(events()).toEqual([
      ['bob-phone', { type: 'event', event: 'randomEnded', data: { partnerId: 'ann' } }],
      ['ann-laptop', { type: 'event', event: 'randomEnded', data: { partnerId: 'bob' } }],
    ]);
  });
});

describe('the presence item tells $disconnect whether the connection holds the random chat', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const store = new DynamoPresenceStore(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })),
    new PresenceItems('presence-t'),
  );
  beforeEach(() => dynamo.reset());

  it.each([
    ['c1', true],
    ['c2', false],
  ])('closing %s: %s', async (connectionId, held) => {
    dynamo.on(UpdateCommand).resolves({
      Attributes: { userId: 'ann', connections: {}, lastSeen: now.toISOString(), randomConnectionId: 'c1' },
    });
    expect(await store.closeConnection('ann', connectionId, now)).toEqual({ heldRandomChat: held });
    expect(dynamo.commandCalls(UpdateCommand)).toHaveLength(1);
  });
});
