/**
 * Random chat in DynamoDB (see docs/data-model.md), table `random`:
 * - slot:    pk = `queue#waiting` → `userId`, `connectionId`, `expiresAt` of the one waiting
 *            user; absent when nobody waits;
 * - session: pk = userId → `state` (`waiting` | `paired`), `partnerId?`, `connectionId`,
 *            `expiresAt` (TTL: the latest its connection can close).
 * Every change is one TransactWriteItems whose conditions make the pairing race-free (see
 * domain/random-chat.ts); it also sets or removes `randomConnectionId` on the user's
 * presence item, which tells `$disconnect` whether the closing connection holds a chat.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { RandomSession, RandomSnapshot, RandomStore, WaitingSlot } from '../domain/random-chat.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { batchGetAll, type TransactItem, transactWrite } from './dynamo.ts';
import { PresenceItems } from './presence-item.ts';

/** The slot's key; user ids never contain `#`. */
export const WAITING_SLOT = 'queue#waiting';
const FAILED = 'ConditionalCheckFailed';
const stateName = { '#state': 'state' };

export class DynamoRandomStore implements RandomStore {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly randomTable: string = requireEnv(tables.random.envVar),
    private readonly presence: PresenceItems = new PresenceItems(),
  ) {}

  /** One strongly consistent BatchGetItem: the session and the slot. */
  async snapshot(userId: string): Promise<RandomSnapshot> {
    const found = await batchGetAll(this.client, {
      [this.randomTable]: { Keys: [{ pk: userId }, { pk: WAITING_SLOT }], ConsistentRead: true },
    });
    const items = found[this.randomTable] ?? [];
    const session = items.find((item) => item.pk === userId);
    const slot = items.find((item) => item.pk === WAITING_SLOT);
    return {
      session:
        session === undefined
          ? undefined
          : {
              userId,
              state: session.state === 'paired' ? 'paired' : 'waiting',
              partnerId: typeof session.partnerId === 'string' ? session.partnerId : undefined,
              connectionId: String(session.connectionId),
              expiresAt: Number(session.expiresAt),
            },
      waiting:
        slot === undefined
          ? undefined
          : {
              userId: String(slot.userId),
              connectionId: String(slot.connectionId),
              expiresAt: Number(slot.expiresAt),
            },
    };
  }

  /**
   * [0] the slot (empty or stale), [1] the session (none live), [2] the presence flag, and
   * [3] the stale waiter's session, if there is one to replace.
   */
  async enqueue(
    session: RandomSession,
    stale: WaitingSlot | undefined,
    nowSeconds: number,
  ): Promise<boolean> {
    const { userId, connectionId, expiresAt } = session;
    const free = 'attribute_not_exists(pk) OR expiresAt <= :now';
    const items: TransactItem[] = [
      {
        Put: {
          TableName: this.randomTable,
          Item: { pk: WAITING_SLOT, userId, connectionId, expiresAt },
          ConditionExpression: free,
          ExpressionAttributeValues: { ':now': nowSeconds },
        },
      },
      {
        Put: {
          TableName: this.randomTable,
          Item: { pk: userId, state: 'waiting', connectionId, expiresAt },
          ConditionExpression: free,
          ExpressionAttributeValues: { ':now': nowSeconds },
        },
      },
      this.presence.flagRandomChat(userId, connectionId),
    ];
    if (stale !== undefined && stale.userId !== userId) {
      items.push({
        Delete: {
          TableName: this.randomTable,
          Key: { pk: stale.userId },
          ConditionExpression: 'attribute_not_exists(pk) OR connectionId = :connection',
          ExpressionAttributeValues: { ':connection': stale.connectionId },
        },
      });
    }
    return (await transactWrite(this.client, items, 1)) === undefined;
  }

  /**
   * [0] the slot, still holding `waiting`, is emptied; [1] the waiter's session, still
   * waiting, is paired; [2] the caller's session (none live) is put; [3] the presence flag,
   * if no block stands between the two (the presence item's copies of the caller's blocks).
   */
  async pair(
    session: RandomSession,
    waiting: WaitingSlot,
    nowSeconds: number,
  ): Promise<'paired' | 'blocked' | 'retry'> {
    const { userId, connectionId, expiresAt } = session;
    const codes = await transactWrite(
      this.client,
      [
        {
          Delete: {
            TableName: this.randomTable,
            Key: { pk: WAITING_SLOT },
            ConditionExpression: 'userId = :waiter AND connectionId = :connection AND expiresAt > :now',
            ExpressionAttributeValues: {
              ':waiter': waiting.userId,
              ':connection': waiting.connectionId,
              ':now': nowSeconds,
            },
          },
        },
        {
          Update: {
            TableName: this.randomTable,
            Key: { pk: waiting.userId },
            UpdateExpression: 'SET #state = :paired, partnerId = :partner',
            ConditionExpression: '#state = :waiting AND connectionId = :connection',
            ExpressionAttributeNames: stateName,
            ExpressionAttributeValues: {
              ':paired': 'paired',
              ':waiting': 'waiting',
              ':partner': userId,
              ':connection': waiting.connectionId,
            },
          },
        },
        {
          Put: {
            TableName: this.randomTable,
            Item: { pk: userId, state: 'paired', partnerId: waiting.userId, connectionId, expiresAt },
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt <= :now',
            ExpressionAttributeValues: { ':now': nowSeconds },
          },
        },
        this.presence.flagRandomChat(userId, connectionId, waiting.userId),
      ],
      1,
    );
    if (codes === undefined) return 'paired';
    if (codes[3] === FAILED) return 'blocked';
    return 'retry';
  }

  /**
   * [0] the session, still as read; [1] the slot it holds, or the partner's session (unless
   * the partner has moved on: then without it); [2] the presence flag, and [3] the partner's,
   * which belongs to this pair when [1] holds.
   */
  async end(session: RandomSession, holdsSlot: boolean): Promise<boolean> {
    const { userId, connectionId } = session;
    const paired = session.state === 'paired' && session.partnerId !== undefined;
    const own: TransactItem = {
      Delete: {
        TableName: this.randomTable,
        Key: { pk: userId },
        ConditionExpression: paired
          ? 'connectionId = :connection AND partnerId = :partner'
          : 'connectionId = :connection AND #state = :waiting',
        ExpressionAttributeNames: paired ? undefined : stateName,
        ExpressionAttributeValues: paired
          ? { ':connection': connectionId, ':partner': session.partnerId }
          : { ':connection': connectionId, ':waiting': 'waiting' },
      },
    };
    const other: TransactItem | undefined = paired
      ? {
          Delete: {
            TableName: this.randomTable,
            Key: { pk: session.partnerId },
            ConditionExpression: 'attribute_not_exists(pk) OR partnerId = :user',
            ExpressionAttributeValues: { ':user': userId },
          },
        }
      : holdsSlot
        ? {
            Delete: {
              TableName: this.randomTable,
              Key: { pk: WAITING_SLOT },
              ConditionExpression: 'userId = :user AND connectionId = :connection',
              ExpressionAttributeValues: { ':user': userId, ':connection': connectionId },
            },
          }
        : undefined;
    const unflag = (user: string) => this.presence.unflagRandomChat(user);
    const items =
      other === undefined
        ? [own, unflag(userId)]
        : paired
          ? [own, other, unflag(userId), unflag(session.partnerId as string)]
          : [own, other, unflag(userId)];
    let codes = await transactWrite(this.client, items, 1);
    if (codes !== undefined && paired && codes[0] !== FAILED && codes[1] === FAILED) {
      // The partner's session is no longer this pair (it expired and they started another):
      // their session and flag are theirs now.
      codes = await transactWrite(this.client, [own, unflag(userId)], 1);
    }
    return codes === undefined;
  }
}
