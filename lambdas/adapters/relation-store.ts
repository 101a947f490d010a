/**
 * Relations in DynamoDB (see docs/data-model.md): pk = userId, sk = `follow#{otherId}` or
 * `block#{otherId}`, `since`. Each follow and block is also copied, in the same transaction,
 * into string sets on the presence items (`follows`, `blocks` on the user's, `blockedBy` on
 * the other's), which `getLastSeen`, `getProfile`, `sendMessage` and `joinRandom` read
 * instead of relation items. Every write is one TransactWriteItems that carries its own
 * checks, so a follow racing a block can never leave a follow across a block (the two
 * transactions share items, so DynamoDB serializes them).
 */
import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { BlockOutcome, FollowingPage, FollowOutcome, RelationStore } from '../domain/relations.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { logger } from '../shared/logger.ts';
import { tables } from '../tables.ts';
import { isAwsError, type TransactItem, transactWrite } from './dynamo.ts';
import { ACCOUNT_EXISTS, PresenceItems } from './presence-item.ts';

const FOLLOW = 'follow#';
const BLOCK = 'block#';
const FAILED = 'ConditionalCheckFailed';

export class DynamoRelationStore implements RelationStore {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly relationsTable: string = requireEnv(tables.relations.envVar),
    private readonly presence: PresenceItems = new PresenceItems(),
  ) {}

  /**
   * One TransactWriteItems: [0] the other user is an account, [1] they do not block the
   * caller, [2] the caller does not block them, [3] the caller's `follows` copy (under the
   * cap, or already there), [4] the relation (its first `since` kept).
   */
  async follow(userId: string, otherId: string, since: Date, maxFollowing: number): Promise<FollowOutcome> {
    const codes = await transactWrite(this.client, [
      this.presence.accountExists(otherId),
      this.absent(otherId, `${BLOCK}${userId}`),
      this.absent(userId, `${BLOCK}${otherId}`),
      this.presence.addFollow(userId, otherId, maxFollowing),
      {
        Update: {
          TableName: this.relationsTable,
          Key: { pk: userId, sk: `${FOLLOW}${otherId}` },
          UpdateExpression: 'SET since = if_not_exists(since, :since)',
          ExpressionAttributeValues: { ':since': since.toISOString() },
        },
      },
    ]);
    if (codes === undefined) return 'followed';
    if (codes[0] === FAILED) return 'no-such-user';
    if (codes[1] === FAILED) return 'blocked-by-them';
    if (codes[2] === FAILED) return 'blocking-them';
    if (codes[3] === FAILED) return 'limit-reached';
    throw new Error(`follow was cancelled: ${codes.join(', ')}`);
  }

  /** One TransactWriteItems: the relation and its copy. */
  async unfollow(userId: string, otherId: string): Promise<void> {
    const codes = await transactWrite(this.client, [
      { Delete: { TableName: this.relationsTable, Key: { pk: userId, sk: `${FOLLOW}${otherId}` } } },
      this.presence.removeFromCopy(userId, 'follows', otherId),
    ]);
    if (codes !== undefined) throw new Error(`unfollow was cancelled: ${codes.join(', ')}`);
  }

  /** One Query per page: the `follow#` items of the user, by user id. */
  async following(userId: string, limit: number, after?: string): Promise<FollowingPage> {
    const output = await this.client.send(
      new QueryCommand({
        TableName: this.relationsTable,
        KeyConditionExpression: 'pk = :user AND begins_with(sk, :follow)',
        ExpressionAttributeValues: { ':user': userId, ':follow': FOLLOW },
        ExclusiveStartKey: after === undefined ? undefined : { pk: userId, sk: `${FOLLOW}${after}` },
        Limit: limit,
      }),
    );
    const following = (output.Items ?? []).map((item) => ({
      userId: String(item.sk).slice(FOLLOW.length),
      since: String(item.since),
    }));
    const last = following.at(-1);
    return output.LastEvaluatedKey && last ? { following, nextCursor: last.userId } : { following };
  }

  /**
   * One TransactWriteItems: [0] the block (if new), [1] and [2] the follows both ways, [3] the
   * caller's copies (`blocks` under the cap; `follows`), [4] the other's copies (`blockedBy`;
   * `follows`), on the condition that their presence item exists, i.e. that they are a user.
   *
   * `blockedBy` is the one set a user does not control: if a user is blocked by so many that
   * their presence item would pass DynamoDB's 400 KB, the block is written without that copy
   * (the blocker then still sees the blocked user's last seen; the blocked user still sees
   * nothing of the blocker, and messages are refused both ways by the `blocks` copy).
   */
  async block(userId: string, otherId: string, since: Date, maxBlocks: number): Promise<BlockOutcome> {
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.relationsTable,
          Item: { pk: userId, sk: `${BLOCK}${otherId}`, since: since.toISOString() },
          ConditionExpression: 'attribute_not_exists(pk)',
        },
      },
      { Delete: { TableName: this.relationsTable, Key: { pk: userId, sk: `${FOLLOW}${otherId}` } } },
      { Delete: { TableName: this.relationsTable, Key: { pk: otherId, sk: `${FOLLOW}${userId}` } } },
      this.presence.addBlock(userId, otherId, maxBlocks),
      this.presence.addBlockedBy(otherId, userId),
    ];
    let codes: (string | undefined)[] | undefined;
    try {
      codes = await transactWrite(this.client, items);
    } catch (error) {
      if (!isAwsError(error, 'ValidationException') || !/size/i.test((error as Error).message)) throw error;
      codes = ['None', 'None', 'None', 'None', 'ValidationError'];
    }
    if (codes?.[4] === 'ValidationError') {
      logger.warn('A presence item is full; the block is written without its blockedBy copy', { otherId });
      codes = await transactWrite(this.client, [...items.slice(0, 4), this.presence.accountExists(otherId)]);
    }
    if (codes === undefined) return 'blocked';
    if (codes[4] === FAILED) return 'no-such-user';
    // Already blocked: the first block severed the follows and wrote the copies.
    if (codes[0] === FAILED) return 'blocked';
    if (codes[3] === FAILED) return 'limit-reached';
    throw new Error(`block was cancelled: ${codes.join(', ')}`);
  }

  /**
   * One TransactWriteItems: the block and both copies. The other user's copy is written only
   * if their presence item exists, so that unblocking an unknown id creates nothing.
   */
  async unblock(userId: string, otherId: string): Promise<void> {
    const items: TransactItem[] = [
      { Delete: { TableName: this.relationsTable, Key: { pk: userId, sk: `${BLOCK}${otherId}` } } },
      this.presence.removeFromCopy(userId, 'blocks', otherId),
      this.presence.removeFromCopy(otherId, 'blockedBy', userId, ACCOUNT_EXISTS),
    ];
    let codes = await transactWrite(this.client, items);
    if (codes?.[2] === FAILED) codes = await transactWrite(this.client, items.slice(0, 2));
    if (codes !== undefined) throw new Error(`unblock was cancelled: ${codes.join(', ')}`);
  }

  private absent(pk: string, sk: string): TransactItem {
    return {
      ConditionCheck: {
        TableName: this.relationsTable,
        Key: { pk, sk },
        ConditionExpression: 'attribute_not_exists(pk)',
      },
    };
  }
}
