/**
 * Push targets (docs/data-model.md, "push targets"): one item per user in the users table,
 * pk = `push#{userId}`, its targets in the map `targets` keyed by pushId. One read answers
 * "where do I notify this user", and the worker reads 100 users per BatchGetItem.
 */
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { PushTarget, PushTargetStore } from '../domain/push.ts';
import type { PushAudience } from '../domain/push-notifications.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { batchGetKeys, isAwsError } from './dynamo.ts';

const pushKey = (userId: string) => ({ pk: `push#${userId}` });

/** A first target races another device's first target at most once or twice. */
const MAX_ATTEMPTS = 3;

export class DynamoPushTargetStore implements PushTargetStore, PushAudience {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly table: string = requireEnv(tables.users.envVar),
  ) {}

  async put(userId: string, target: PushTarget, max: number): Promise<'saved' | 'full'> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt += 1) {
      try {
        // The same pushId replaces itself; a new one needs room.
        await this.client.send(
          new UpdateCommand({
            TableName: this.table,
            Key: pushKey(userId),
            UpdateExpression: 'SET targets.#id = :target',
            ConditionExpression: 'attribute_exists(targets.#id) OR size(targets) < :max',
            ExpressionAttributeNames: { '#id': target.pushId },
            ExpressionAttributeValues: { ':target': target, ':max': max },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return 'saved';
      } catch (error) {
        if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
        if ((error as { Item?: unknown }).Item !== undefined) return 'full';
      }
      // The user's first target: the item does not exist yet.
      try {
        await this.client.send(
          new PutCommand({
            TableName: this.table,
            Item: { ...pushKey(userId), kind: 'push', userId, targets: { [target.pushId]: target } },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return 'saved';
      } catch (error) {
        // Another device registered first: add to its item.
        if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
      }
    }
    throw new Error('Could not save a push target: the item kept changing');
  }

  async take(userId: string, pushId: string): Promise<PushTarget | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: pushKey(userId),
          UpdateExpression: 'REMOVE targets.#id',
          // Never creates an empty item for a user without targets.
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeNames: { '#id': pushId },
          // The removed target, if it was there: { targets: { [pushId]: target } }.
          ReturnValues: 'UPDATED_OLD',
        }),
      );
      return (Attributes?.targets as Record<string, PushTarget> | undefined)?.[pushId];
    } catch (error) {
      if (!isAwsError(error, 'ConditionalCheckFailedException')) throw error;
      return undefined;
    }
  }

  async remove(userId: string, pushId: string): Promise<void> {
    await this.take(userId, pushId);
  }

  async of(userIds: readonly string[]): Promise<Map<string, PushTarget[]>> {
    return (await this.read(undefined, userIds)).targets;
  }

  /** The sender's account (its `name` only) rides along with the first 99 recipients' items. */
  async audience(
    senderId: string,
    recipients: readonly string[],
  ): Promise<{ senderName?: string; targets: Map<string, PushTarget[]> }> {
    return this.read(senderId, recipients);
  }

  private async read(
    senderId: string | undefined,
    userIds: readonly string[],
  ): Promise<{ senderName?: string; targets: Map<string, PushTarget[]> }> {
    const targets = new Map<string, PushTarget[]>();
    let senderName: string | undefined;
    const keys = [
      ...(senderId === undefined ? [] : [{ pk: senderId }]),
      ...[...new Set(userIds)].map(pushKey),
    ];
    // One request per 100 keys, in parallel.
    const items = await batchGetKeys(this.client, this.table, keys, {
      ProjectionExpression: 'pk, userId, targets, #name',
      ExpressionAttributeNames: { '#name': 'name' },
    });
    for (const item of items) {
      if (item.pk === senderId) {
        senderName = typeof item.name === 'string' ? item.name : undefined;
        continue;
      }
      const userTargets = Object.values((item.targets ?? {}) as Record<string, PushTarget>);
      if (userTargets.length > 0) targets.set(item.userId as string, userTargets);
    }
    return senderName === undefined ? { targets } : { senderName, targets };
  }
}
