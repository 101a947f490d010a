/**
 * Media (docs/data-model.md, "media"): one item per upload in the users table (pk =
 * `media#{mediaId}`), the file itself in the media bucket under `{purpose}/{mediaId}`.
 * Uploads are PUT with a presigned URL bound to the declared Content-Type and Content-Length
 * and tagged `pending=true`, which the bucket's lifecycle deletes after a day unless attaching
 * the upload replaced the tag (infra/constructs/storage.ts).
 */
import {
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { MediaPurpose } from '../../protocol/limits.ts';
import type { MediaObjects, MediaRecord, MediaRepository } from '../domain/media.ts';
import { documentClient } from '../shared/clients.ts';
import { requireEnv } from '../shared/env.ts';
import { tables } from '../tables.ts';

/** The tag every upload carries until it is attached; the bucket's lifecycle deletes tagged objects after a day. */
export const PENDING_TAG = { Key: 'pending', Value: 'true' } as const;
/** The tag an attached object carries instead. */
export const ATTACHED_TAG = { Key: 'pending', Value: 'false' } as const;

/**
 * The S3 client, once per process. Without `requestChecksumCalculation: 'WHEN_REQUIRED'` the
 * SDK would presign a CRC32 of the empty body into every upload URL and S3 would refuse the
 * real bytes. A custom endpoint (the local emulator) is addressed by path, not by host name.
 */
export const s3Client = new S3Client({
  forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined,
  requestChecksumCalculation: 'WHEN_REQUIRED',
});

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

export class S3MediaObjects implements MediaObjects {
  constructor(
    private readonly client: S3Client = s3Client,
    private readonly bucket: string = requireEnv('MEDIA_BUCKET'),
  ) {}

  async presignUpload(
    key: string,
    contentType: string,
    size: number,
    expiresInSeconds: number,
  ): Promise<{ url: string; headers: Record<string, string> }> {
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ContentType: contentType,
      ContentLength: size,
      Tagging: `${PENDING_TAG.Key}=${PENDING_TAG.Value}`,
    });
    // Content-Type and Content-Length are signed: S3 refuses a PUT of another type or size.
    // The tag travels in the URL's query (x-amz-tagging), where S3 takes it like the header.
    const url = await getSignedUrl(this.client, command, {
      expiresIn: expiresInSeconds,
      signableHeaders: new Set(['content-type', 'content-length']),
    });
    return { url, headers: { 'Content-Type': contentType } };
  }

  async presignDownload(
    key: string,
    response: { contentType: string; disposition: string } | undefined,
    expiresInSeconds: number,
  ): Promise<string> {
    return getSignedUrl(
      this.client,
      new GetObjectCommand({
        Bucket: this.bucket,
        Key: key,
        ResponseContentType: response?.contentType,
        ResponseContentDisposition: response?.disposition,
      }),
      { expiresIn: expiresInSeconds },
    );
  }

  async inspect(key: string, bytes: number): Promise<{ size: number; head: Uint8Array } | undefined> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const size = head.ContentLength ?? 0;
      if (size === 0) return { size, head: new Uint8Array() };
      const object = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Range: `bytes=0-${Math.min(bytes, size) - 1}`,
        }),
      );
      return { size, head: (await object.Body?.transformToByteArray()) ?? new Uint8Array() };
    } catch (error) {
      if (
        error instanceof NotFound ||
        error instanceof NoSuchKey ||
        (error instanceof S3ServiceException && error.$metadata.httpStatusCode === 404)
      ) {
        return undefined;
      }
      throw error;
    }
  }

  async markAttached(key: string): Promise<void> {
    await this.client.send(
      new PutObjectTaggingCommand({
        Bucket: this.bucket,
        Key: key,
        Tagging: { TagSet: [{ ...ATTACHED_TAG }] },
      }),
    );
  }
}
