/**
 * Media items (docs/data-model.md, "media"): one item per upload in the users table (pk =
 * `media#{mediaId}`); the files are in the media bucket (media-objects.ts).
 */
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { MediaPurpose } from '../../protocol/limits.ts';
import type { MediaRecord, MediaRepository } from '../domain/media.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';

const mediaKey = (mediaId: string) => ({ pk: `media#${mediaId}` });

/** Epoch seconds, rounded up: DynamoDB's TTL never deletes an item early. */
const epochSeconds = (date: Date) => Math.ceil(date.getTime() / 1000);

export class DynamoMediaRepository implements MediaRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient = documentClient,
    private readonly table: string = requireEnv(tables.users.envVar),
  ) {}

  async create(record: MediaRecord, expiresAt: Date): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.table,
        Item: { ...mediaKey(record.mediaId), kind: 'media', ...record, expiresAt: epochSeconds(expiresAt) },
        ConditionExpression: 'attribute_not_exists(pk)',
      }),
    );
  }

  async get(mediaId: string): Promise<MediaRecord | undefined> {
    const { Item } = await this.client.send(
      new GetCommand({ TableName: this.table, Key: mediaKey(mediaId), ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    // An unattached upload past its day is gone, whether or not TTL has deleted it yet.
    if (
      Item.attachedTo === undefined &&
      typeof Item.expiresAt === 'number' &&
      Item.expiresAt * 1000 < Date.now()
    ) {
      return undefined;
    }
    return {
      mediaId,
      ownerId: Item.ownerId as string,
      purpose: Item.purpose as MediaPurpose,
      contentType: Item.contentType as string,
      size: Item.size as number,
      createdAt: Item.createdAt as string,
      ...(typeof Item.filename === 'string' ? { filename: Item.filename } : {}),
      ...(typeof Item.attachedTo === 'string' ? { attachedTo: Item.attachedTo } : {}),
      ...(typeof Item.width === 'number' ? { width: Item.width } : {}),
      ...(typeof Item.height === 'number' ? { height: Item.height } : {}),
    };
  }

  async attach(
    record: MediaRecord,
    attachedTo: string,
    facts: { width?: number; height?: number },
    expiresAt: Date | undefined,
  ): Promise<boolean> {
    const set = ['attachedTo = :to', 'attachedAt = :now'];
    const values: Record<string, unknown> = {
      ':to': attachedTo,
      ':owner': record.ownerId,
      ':now': new Date().toISOString(),
    };
    if (facts.width !== undefined && facts.height !== undefined) {
      set.push('width = :width', 'height = :height');
      values[':width'] = facts.width;
      values[':height'] = facts.height;
    }
    if (expiresAt !== undefined) {
      set.push('expiresAt = :expires');
      values[':expires'] = epochSeconds(expiresAt);
    }
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: mediaKey(record.mediaId),
          UpdateExpression: `SET ${set.join(', ')}${expiresAt === undefined ? ' REMOVE expiresAt' : ''}`,
          ConditionExpression: 'ownerId = :owner AND (attribute_not_exists(attachedTo) OR attachedTo = :to)',
          ExpressionAttributeValues: values,
        }),
      );
      return true;
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return false;
      throw error;
    }
  }
}
