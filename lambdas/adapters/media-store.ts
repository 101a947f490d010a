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
    return recordOf(mediaId, Item);
  }

  async claim(
    mediaId: string,
    claim: { ownerId: string; purpose: MediaPurpose; attachedTo: string; expiresAt?: Date; now: Date },
  ): Promise<MediaRecord | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.table,
          Key: mediaKey(mediaId),
          UpdateExpression:
            claim.expiresAt === undefined
              ? 'SET attachedTo = :to, attachedAt = :at REMOVE expiresAt'
              : 'SET attachedTo = :to, attachedAt = :at, expiresAt = :expires',
          // Unattached and unexpired (TTL deletes lazily), or already attached to the same target.
          ConditionExpression:
            '#owner = :owner AND #purpose = :purpose AND (attachedTo = :to OR ' +
            '(attribute_not_exists(attachedTo) AND expiresAt > :nowSeconds))',
          ExpressionAttributeNames: { '#owner': 'ownerId', '#purpose': 'purpose' },
          ExpressionAttributeValues: {
            ':to': claim.attachedTo,
            ':at': claim.now.toISOString(),
            ':owner': claim.ownerId,
            ':purpose': claim.purpose,
            ':nowSeconds': Math.floor(claim.now.getTime() / 1000),
            ...(claim.expiresAt === undefined ? {} : { ':expires': epochSeconds(claim.expiresAt) }),
          },
          ReturnValues: 'ALL_OLD',
        }),
      );
      return Attributes === undefined ? undefined : recordOf(mediaId, Attributes);
    } catch (error) {
      if ((error as Error).name === 'ConditionalCheckFailedException') return undefined;
      throw error;
    }
  }

  async release(mediaId: string, attachedTo: string, expiresAt: Date): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.table,
        Key: mediaKey(mediaId),
        UpdateExpression: 'SET expiresAt = :expires REMOVE attachedTo, attachedAt',
        ConditionExpression: 'attachedTo = :to',
        ExpressionAttributeValues: { ':to': attachedTo, ':expires': epochSeconds(expiresAt) },
      }),
    );
  }
}

/** A media item as the domain sees it. */
function recordOf(mediaId: string, item: Record<string, unknown>): MediaRecord {
  return {
    mediaId,
    ownerId: item.ownerId as string,
    purpose: item.purpose as MediaPurpose,
    contentType: item.contentType as string,
    size: item.size as number,
    createdAt: item.createdAt as string,
    ...(typeof item.filename === 'string' ? { filename: item.filename } : {}),
    ...(typeof item.attachedTo === 'string' ? { attachedTo: item.attachedTo } : {}),
  };
}
