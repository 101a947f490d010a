/**
 * Refresh-token families in the `users` table (domain/sessions.ts, docs/data-model.md):
 * pk = `refresh#{familyId}` → `userId`, `currentHash`, `createdAt`, `expiresAt` (the TTL
 * attribute; reads treat a lapsed family as absent through the domain's check).
 */
import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { RefreshFamily, SessionStore } from '../domain/ports.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';
import { isAwsError } from './dynamo.ts';

export const refreshFamilyKey = (familyId: string) => `refresh#${familyId}`;

export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly tableName: string = requireEnv(tables.users.envVar),
  ) {}

  /** One PutItem; family ids are random, so the condition only guards against a collision. */
  async createFamily(family: RefreshFamily): Promise<void> {
    const { familyId, ...rest } = family;
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: refreshFamilyKey(familyId), ...rest },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async getFamily(familyId: string): Promise<RefreshFamily | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: refreshFamilyKey(familyId) },
        ConsistentRead: true,
      }),
    );
    if (Item === undefined) return undefined;
    return {
      familyId,
      userId: Item.userId as string,
      currentHash: Item.currentHash as string,
      createdAt: Item.createdAt as number,
      expiresAt: Item.expiresAt as number,
    };
  }

  /** One conditional UpdateItem: of two requests with the same token, exactly one rotates. */
  async rotate(
    familyId: string,
    previousHash: string,
    nextHash: string,
    expiresAt: number,
  ): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: refreshFamilyKey(familyId) },
          UpdateExpression: 'SET currentHash = :next, expiresAt = :expiresAt',
          ConditionExpression: 'currentHash = :previous',
          ExpressionAttributeValues: {
            ':next': nextHash,
            ':previous': previousHash,
            ':expiresAt': expiresAt,
          },
        }),
      );
      return true;
    } catch (error) {
      if (isAwsError(error, 'ConditionalCheckFailedException')) return false;
      throw error;
    }
  }

  async deleteFamily(familyId: string): Promise<void> {
    await this.client.send(
      new DeleteCommand({ TableName: this.tableName, Key: { pk: refreshFamilyKey(familyId) } }),
    );
  }
}
