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

const FOLLOW = 'follow#';
const BLOCK = 'block#';
const FAILED = 'ConditionalCheckFailed';

/**
 * Every confirmed account has a presence item (made when its e-mail is verified), so the
 * other user's small presence item proves the account exists, without reading a profile
 * that may hold a 64 KB photo; pending sign-ups have none.
 */
const ACCOUNT_EXISTS = 'attribute_exists(userId)';

export class DynamoRelationStore implements RelationStore {
  /**
   * @param presenceTable needed by the writes only (the copies, and the presence item that
   *   proves an account exists), so that `getFollowing` needs no `PRESENCE_TABLE`.
   */
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly relationsTable: string = requireEnv(tables.relations.envVar),
    private readonly presenceTable: string | undefined = process.env[tables.presence.envVar] || undefined,
  ) {}

  private get presence(): string {
    return this.presenceTable ?? requireEnv(tables.presence.envVar);
  }

  /**
   * One TransactWriteItems: [0] the other user is an account, [1] they do not block the
   * caller, [2] the caller does not block them, [3] the caller's `follows` copy (under the
   * cap, or already there), [4] the relation (its first `since` kept).
   */
  async follow(userId: string, otherId: string, since: Date, maxFollowing: number): Promise<FollowOutcome> {
    const codes = await transactWrite(this.client, [
      this.accountCheck(otherId),
      this.absent(otherId, `${BLOCK}${userId}`),
      this.absent(userId, `${BLOCK}${otherId}`),
      {
        Update: {
          TableName: this.presence,
          Key: { userId },
          UpdateExpression: 'ADD #follows :other',
          ConditionExpression:
            'attribute_not_exists(#follows) OR size(#follows) < :max OR contains(#follows, :id)',
          ExpressionAttributeNames: { '#follows': 'follows' },
          ExpressionAttributeValues: { ':other': new Set([otherId]), ':id': otherId, ':max': maxFollowing },
        },
      },
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
      this.removeFromSet(userId, 'follows', otherId),
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
      {
        Update: {
          TableName: this.presence,
          Key: { userId },
          UpdateExpression: 'ADD #blocks :other DELETE #follows :other',
          ConditionExpression: 'attribute_not_exists(#blocks) OR size(#blocks) < :max',
          ExpressionAttributeNames: { '#blocks': 'blocks', '#follows': 'follows' },
          ExpressionAttributeValues: { ':other': new Set([otherId]), ':max': maxBlocks },
        },
      },
      {
        Update: {
          TableName: this.presence,
          Key: { userId: otherId },
          UpdateExpression: 'ADD #blockedBy :user DELETE #follows :user',
          ConditionExpression: ACCOUNT_EXISTS,
          ExpressionAttributeNames: { '#blockedBy': 'blockedBy', '#follows': 'follows' },
          ExpressionAttributeValues: { ':user': new Set([userId]) },
        },
      },
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
      codes = await transactWrite(this.client, [...items.slice(0, 4), this.accountCheck(otherId)]);
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
      this.removeFromSet(userId, 'blocks', otherId),
      this.removeFromSet(otherId, 'blockedBy', userId, ACCOUNT_EXISTS),
    ];
    let codes = await transactWrite(this.client, items);
    if (codes?.[2] === FAILED) codes = await transactWrite(this.client, items.slice(0, 2));
    if (codes !== undefined) throw new Error(`unblock was cancelled: ${codes.join(', ')}`);
  }

  private accountCheck(userId: string): TransactItem {
    return {
      ConditionCheck: { TableName: this.presence, Key: { userId }, ConditionExpression: ACCOUNT_EXISTS },
    };
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

  private removeFromSet(
    userId: string,
    set: 'follows' | 'blocks' | 'blockedBy',
    member: string,
    condition?: string,
  ): TransactItem {
    return {
      Update: {
        TableName: this.presence,
        Key: { userId },
        UpdateExpression: 'DELETE #set :member',
        ConditionExpression: condition,
        ExpressionAttributeNames: { '#set': set },
        ExpressionAttributeValues: { ':member': new Set([member]) },
      },
    };
  }
}
