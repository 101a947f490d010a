import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { PresenceItems } from '../../lambdas/adapters/presence-item.ts';
import { DynamoRelationStore } from '../../lambdas/adapters/relation-store.ts';
import {
  block,
  follow,
  getFollowing,
  MAX_BLOCKS,
  MAX_FOLLOWING,
  unblock,
  unfollow,
} from '../../lambdas/domain/relations.ts';
import { callerAs } from './fakes.ts';
import { FakeRelations } from './social-fakes.ts';

const now = new Date('2026-11-22T10:00:00Z');

describe('relation use cases', () => {
  let store: FakeRelations;

  beforeEach(() => {
    store = new FakeRelations();
    for (const user of ['ann', 'bob', 'cat']) store.users.add(user);
  });

  it('follows idempotently, keeping the first since', async () => {
    await follow(store, { userId: 'bob' }, callerAs('ann', now));
    await follow(store, { userId: 'bob' }, callerAs('ann', new Date('2027-01-01T00:00:00Z')));
    expect(await getFollowing(store, {}, callerAs('ann'))).toEqual({
      following: [{ userId: 'bob', since: now.toISOString() }],
    });
    await unfollow(store, { userId: 'bob' }, callerAs('ann'));
    await unfollow(store, { userId: 'bob' }, callerAs('ann'));
    expect(await getFollowing(store, {}, callerAs('ann'))).toEqual({ following: [] });
  });

  it('maps every refusal to its error', async () => {
    await expect(follow(store, { userId: 'ann' }, callerAs('ann', now))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(follow(store, { userId: 'zed' }, callerAs('ann', now))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    store.graph.blocks.add('bob>ann');
    await expect(follow(store, { userId: 'bob' }, callerAs('ann', now))).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: 'You cannot follow this user',
    });
    store.graph.blocks.add('ann>cat');
    await expect(follow(store, { userId: 'cat' }, callerAs('ann', now))).rejects.toMatchObject({
      code: 'FORBIDDEN',
      message: expect.stringMatching(/unblock/),
    });
    await expect(unfollow(store, { userId: 'ann' }, callerAs('ann'))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(block(store, { userId: 'ann' }, callerAs('ann', now))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(block(store, { userId: 'zed' }, callerAs('ann', now))).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(unblock(store, { userId: 'ann' }, callerAs('ann'))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
  });

  it('caps following and blocking', async () => {
    const others = Array.from({ length: MAX_FOLLOWING }, (_, i) => `u${i}`);
    for (const other of others) {
      store.users.add(other);
      store.graph.follows.set(`ann>${other}`, now.toISOString());
    }
    await expect(follow(store, { userId: 'bob' }, callerAs('ann', now))).rejects.toMatchObject({
      code: 'CONFLICT',
    });
    // Following someone already followed is still fine at the cap.
    await expect(follow(store, { userId: 'u0' }, callerAs('ann', now))).resolves.toEqual({});
    for (const other of others.slice(0, MAX_BLOCKS)) store.graph.blocks.add(`bob>${other}`);
    await expect(block(store, { userId: 'cat' }, callerAs('bob', now))).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('a block removes the follows both ways', async () => {
    await follow(store, { userId: 'bob' }, callerAs('ann', now));
    await follow(store, { userId: 'ann' }, callerAs('bob', now));
    await block(store, { userId: 'ann' }, callerAs('bob', now));
    expect((await getFollowing(store, {}, callerAs('ann'))).following).toEqual([]);
    expect((await getFollowing(store, {}, callerAs('bob'))).following).toEqual([]);
    await unblock(store, { userId: 'ann' }, callerAs('bob'));
    expect((await getFollowing(store, {}, callerAs('bob'))).following).toEqual([]);
  });

  it('pages getFollowing by user id', async () => {
    for (const user of ['bob', 'cat']) await follow(store, { userId: user }, callerAs('ann', now));
    const page = await getFollowing(store, { limit: 1 }, callerAs('ann'));
    expect(page).toEqual({ following: [{ userId: 'bob', since: now.toISOString() }], nextCursor: 'bob' });
    expect(await getFollowing(store, { cursor: 'bob' }, callerAs('ann'))).toEqual({
      following: [{ userId: 'cat', since: now.toISOString() }],
    });
  });
});

describe('DynamoRelationStore over the AWS SDK', () => {
  const dynamo = mockClient(DynamoDBDocumentClient);
  const store = new DynamoRelationStore(
    DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'eu-west-1' })),
    'relations-t',
    new PresenceItems('presence-t'),
  );
  const itemsOf = (call: number) =>
    dynamo.commandCalls(TransactWriteCommand)[call]?.args[0].input.TransactItems ?? [];

  beforeEach(() => dynamo.reset());

  const cancelled = (...codes: string[]) =>
    Object.assign(new Error('Transaction cancelled'), {
      name: 'TransactionCanceledException',
      CancellationReasons: codes.map((Code) => ({ Code })),
    });

  it('follows in one transaction: the account, blocks both ways, the capped copy, the relation', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    expect(await store.follow('ann', 'bob', now, 1000)).toBe('followed');
    const items = itemsOf(0);
    expect(items.map((i) => Object.keys(i)[0])).toEqual([
      'ConditionCheck',
      'ConditionCheck',
      'ConditionCheck',
      'Update',
      'Update',
    ]);
    // The other user's small presence item proves the account, not the profile with its photo.
    expect(items[0]?.ConditionCheck).toMatchObject({ TableName: 'presence-t', Key: { userId: 'bob' } });
    expect(items[1]?.ConditionCheck).toMatchObject({ Key: { pk: 'bob', sk: 'block#ann' } });
    expect(items[2]?.ConditionCheck).toMatchObject({ Key: { pk: 'ann', sk: 'block#bob' } });
    expect(items[3]?.Update).toMatchObject({
      TableName: 'presence-t',
      Key: { userId: 'ann' },
      UpdateExpression: 'ADD #follows :other',
    });
    expect(items[4]?.Update).toMatchObject({ Key: { pk: 'ann', sk: 'follow#bob' } });
  });

  it.each([
    [['ConditionalCheckFailed', 'None', 'None', 'None', 'None'], 'no-such-user'],
    [['None', 'ConditionalCheckFailed', 'None', 'None', 'None'], 'blocked-by-them'],
    [['None', 'None', 'ConditionalCheckFailed', 'None', 'None'], 'blocking-them'],
    [['None', 'None', 'None', 'ConditionalCheckFailed', 'None'], 'limit-reached'],
  ])('maps the follow cancellation %j to %s', async (codes, outcome) => {
    dynamo.on(TransactWriteCommand).rejects(cancelled(...codes));
    expect(await store.follow('ann', 'bob', now, 1000)).toBe(outcome);
  });

  it('retries a transaction that only lost to a concurrent one', async () => {
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('None', 'None', 'None', 'TransactionConflict', 'None'))
      .resolves({});
    expect(await store.follow('ann', 'bob', now, 1000)).toBe('followed');
    expect(dynamo.commandCalls(TransactWriteCommand)).toHaveLength(2);
  });

  it('blocks in one transaction: the block, both follows, both users’ copies', async () => {
    dynamo.on(TransactWriteCommand).resolves({});
    expect(await store.block('ann', 'bob', now, 1000)).toBe('blocked');
    const items = itemsOf(0);
    expect(items[0]?.Put).toMatchObject({ Item: { pk: 'ann', sk: 'block#bob' } });
    expect(items[1]?.Delete).toMatchObject({ Key: { pk: 'ann', sk: 'follow#bob' } });
    expect(items[2]?.Delete).toMatchObject({ Key: { pk: 'bob', sk: 'follow#ann' } });
    expect(items[3]?.Update).toMatchObject({
      Key: { userId: 'ann' },
      UpdateExpression: 'ADD #blocks :other DELETE #follows :other',
    });
    expect(items[4]?.Update).toMatchObject({
      Key: { userId: 'bob' },
      UpdateExpression: 'ADD #blockedBy :user DELETE #follows :user',
      ConditionExpression: 'attribute_exists(userId)',
    });
  });

  it.each([
    [['ConditionalCheckFailed', 'None', 'None', 'None', 'None'], 'blocked'],
    [['None', 'None', 'None', 'ConditionalCheckFailed', 'None'], 'limit-reached'],
    [['None', 'None', 'None', 'None', 'ConditionalCheckFailed'], 'no-such-user'],
  ])('maps the block cancellation %j to %s', async (codes, outcome) => {
    dynamo.on(TransactWriteCommand).rejects(cancelled(...codes));
    expect(await store.block('ann', 'bob', now, 1000)).toBe(outcome);
  });

  it('writes a block without the blockedBy copy when the blocked user’s presence item is full', async () => {
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('None', 'None', 'None', 'None', 'ValidationError'))
      .resolves({});
    expect(await store.block('ann', 'bob', now, 1000)).toBe('blocked');
    // The copy is dropped; the account check it carried stays.
    expect(itemsOf(1)[4]).toEqual({
      ConditionCheck: {
        TableName: 'presence-t',
        Key: { userId: 'bob' },
        ConditionExpression: 'attribute_exists(userId)',
      },
    });
    dynamo.reset();
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(
        Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
          name: 'ValidationException',
        }),
      )
      .resolves({});
    expect(await store.block('ann', 'bob', now, 1000)).toBe('blocked');
    expect(itemsOf(1)).toHaveLength(5);
  });

  it('unblocking an unknown user writes only the caller’s side, creating no presence item', async () => {
    dynamo
      .on(TransactWriteCommand)
      .rejectsOnce(cancelled('None', 'None', 'ConditionalCheckFailed'))
      .resolves({});
    await store.unblock('ann', 'zed');
    expect(itemsOf(0)[2]?.Update).toMatchObject({
      Key: { userId: 'zed' },
      ConditionExpression: 'attribute_exists(userId)',
    });
    expect(itemsOf(1)).toHaveLength(2);
  });
});
