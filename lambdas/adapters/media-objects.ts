/**
 * The media bucket (docs/data-model.md, "media"): files under `{purpose}/{mediaId}`, PUT with a
 * presigned URL bound to the declared Content-Type and Content-Length and tagged `pending=true`,
 * which the bucket's lifecycle deletes after a day unless attaching the upload re-tagged it
 * (infra/constructs/media-bucket.ts). Apart from the media items (media-store.ts), so that a
 * function that only presigns a download is granted no DynamoDB action for them.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { MediaObjects } from '../domain/media.ts';
import { requireEnv } from '../shared/env.ts';

/** The tag every upload carries until it is attached; the bucket's lifecycle deletes tagged objects after a day. */
export const PENDING_TAG = { Key: 'pending', Value: 'true' } as const;
/** The tag an attached object carries instead. */
export const ATTACHED_TAG = { Key: 'pending', Value: 'false' } as const;

type S3Sdk = [typeof import('@aws-sdk/client-s3'), typeof import('@aws-sdk/s3-request-presigner')];

/**
 * The S3 SDK and presigner, loaded on first use: sendMessage (and the other functions that touch
 * media now and then) would otherwise load them in every cold start, media or not (about 250 KB
 * of bundle, roughly doubling sendMessage's module load).
 */
let sdk: Promise<S3Sdk> | undefined;
const loadSdk = (): Promise<S3Sdk> =>
  (sdk ??= Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/s3-request-presigner')]));

let sharedClient: Promise<S3Client> | undefined;

/**
 * The S3 client, once per process. Without `requestChecksumCalculation: 'WHEN_REQUIRED'` the
 * SDK would presign a CRC32 of the empty body into every upload URL and S3 would refuse the
 * real bytes. A custom endpoint (the local emulator) is addressed by path, not by host name.
 */
export function s3Client(): Promise<S3Client> {
  sharedClient ??= loadSdk().then(
    ([{ S3Client }]) =>
      new S3Client({
        forcePathStyle: process.env.AWS_ENDPOINT_URL_S3 !== undefined,
        requestChecksumCalculation: 'WHEN_REQUIRED',
      }),
  );
  return sharedClient;
}

export class S3MediaObjects implements MediaObjects {
  constructor(
    private readonly bucket: string = requireEnv('MEDIA_BUCKET'),
    private readonly client: () => Promise<S3Client> = s3Client,
  ) {}

  async presignUpload(
    key: string,
    contentType: string,
    size: number,
    expiresInSeconds: number,
  ): Promise<{ url: string; headers: Record<string, string> }> {
    const [[{ PutObjectCommand }, { getSignedUrl }], client] = await Promise.all([loadSdk(), this.client()]);
    const command = new PutObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ContentType: contentType,
      ContentLength: size,
      Tagging: `${PENDING_TAG.Key}=${PENDING_TAG.Value}`,
    });
    // Content-Type and Content-Length are signed: S3 refuses a PUT of another type or size.
    // The tag travels in the URL's query (x-amz-tagging), where S3 takes it like the header.
    const url = await getSignedUrl(client, command, {
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
    const [[{ GetObjectCommand }, { getSignedUrl }], client] = await Promise.all([loadSdk(), this.client()]);
    const command = new GetObjectCommand({
      Bucket: this.bucket,
      Key: key,
      ResponseContentType: response?.contentType,
      ResponseContentDisposition: response?.disposition,
    });
    return getSignedUrl(client, command, { expiresIn: expiresInSeconds });
  }

  async inspect(key: string, bytes: number): Promise<{ size: number; head: Uint8Array } | undefined> {
    const [[{ GetObjectCommand, HeadObjectCommand, NoSuchKey, NotFound, S3ServiceException }], client] =
      await Promise.all([loadSdk(), this.client()]);
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      const size = head.ContentLength ?? 0;
      if (size === 0) return { size, head: new Uint8Array() };
      const object = await client.send(
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
    const [[{ PutObjectTaggingCommand }], client] = await Promise.all([loadSdk(), this.client()]);
    await client.send(
      new PutObjectTaggingCommand({
        Bucket: this.bucket,
        Key: key,
        Tagging: { TagSet: [{ ...ATTACHED_TAG }] },
      }),
    );
  }
}
