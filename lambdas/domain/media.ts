/**
 * Media: photos and files uploaded to S3 with presigned URLs, then attached to a message, a
 * story or a profile (docs/protocol.md, "Media"; docs/data-model.md, "media"). The server
 * never trusts what the client declared: attaching reads the object's size and first bytes
 * and checks them against the declared type (lambdas/domain/media-signature.ts).
 */
import { ulid } from 'ulid';
import type { ClientToServer, MediaInfo, ServerReplies } from '../../protocol/index.ts';
import {
  CONTENT_TYPE_PATTERN,
  IMAGE_CONTENT_TYPES,
  MAX_FILENAME_CHARACTERS,
  MAX_MEDIA_FILE_BYTES,
  MAX_MEDIA_IMAGE_BYTES,
  type MediaPurpose,
} from '../../protocol/limits.ts';
import { BadRequestError, NotFoundError, PayloadTooLargeError } from '../shared/errors.ts';
import type { ConnectedUser } from './caller.ts';
import { checkSignature, SIGNATURE_BYTES } from './media-signature.ts';

/** How long a presigned upload URL works. */
export const UPLOAD_URL_SECONDS = 15 * 60;
/** How long a presigned download URL works. */
export const DOWNLOAD_URL_SECONDS = 60 * 60;
/** An upload never attached is forgotten (and its object deleted by the bucket's lifecycle) after a day. */
export const UNATTACHED_SECONDS = 24 * 60 * 60;

/** What the media item records: the upload as declared, then what attaching it found. */
export interface MediaRecord {
  readonly mediaId: string;
  readonly ownerId: string;
  readonly purpose: MediaPurpose;
  readonly contentType: string;
  readonly size: number;
  readonly filename?: string;
  readonly createdAt: string;
  /** What it is attached to (`conversation#{id}`, `story#{ownerId}#{storyId}`, `profile#{userId}`); absent while pending. */
  readonly attachedTo?: string;
}

/** The media items (docs/data-model.md, "media"). */
export interface MediaRepository {
  create(record: MediaRecord, expiresAt: Date): Promise<void>;
  get(mediaId: string): Promise<MediaRecord | undefined>;
  /**
   * Claims the upload for `attachedTo` in one conditional write: it must be `ownerId`'s, made for
   * `purpose`, unexpired, and unattached or attached to the same target (a retried send). Sets
   * the expiry to `expiresAt`, or removes it. Answers the item as it was before the claim;
   * undefined when the condition fails (or there is no such item).
   */
  claim(
    mediaId: string,
    claim: { ownerId: string; purpose: MediaPurpose; attachedTo: string; expiresAt?: Date; now: Date },
  ): Promise<MediaRecord | undefined>;
  /** Undoes a claim whose checks failed: unattached again, expiring at `expiresAt`. */
  release(mediaId: string, attachedTo: string, expiresAt: Date): Promise<void>;
}

/** The bucket. Keys are `{purpose}/{mediaId}`. */
export interface MediaObjects {
  presignUpload(
    key: string,
    contentType: string,
    size: number,
    expiresInSeconds: number,
  ): Promise<{ url: string; headers: Record<string, string> }>;
  /** Without `response`, S3 answers with the object's own (checked) Content-Type. */
  presignDownload(
    key: string,
    response: { contentType: string; disposition: string } | undefined,
    expiresInSeconds: number,
  ): Promise<string>;
  /** The object's size and its first `bytes` bytes; undefined when there is no object. */
  inspect(key: string, bytes: number): Promise<{ size: number; head: Uint8Array } | undefined>;
  /** Takes the object out of the lifecycle rule that deletes unattached uploads. */
  markAttached(key: string): Promise<void>;
}

export interface MediaDeps {
  readonly media: MediaRepository;
  readonly objects: MediaObjects;
}

export function mediaKey(record: Pick<MediaRecord, 'purpose' | 'mediaId'>): string {
  return `${record.purpose}/${record.mediaId}`;
}

export function isImageType(contentType: string): boolean {
  return (IMAGE_CONTENT_TYPES as readonly string[]).includes(contentType);
}

/** What may be uploaded for `purpose`, and how large. @throws BadRequestError, PayloadTooLargeError */
export function checkUpload(input: ClientToServer['createUpload']): void {
  const { purpose, contentType, size, filename } = input;
  if (!CONTENT_TYPE_PATTERN.test(contentType)) {
    throw new BadRequestError(
      'contentType must be a lowercase media type like image/jpeg, without parameters',
    );
  }
  const image = isImageType(contentType);
  if (!image && purpose !== 'message') {
    throw new BadRequestError(
      `A ${purpose} takes an image (${IMAGE_CONTENT_TYPES.join(', ')}); other files go in messages`,
    );
  }
  const limit = image ? MAX_MEDIA_IMAGE_BYTES : MAX_MEDIA_FILE_BYTES;
  if (size > limit) {
    throw new PayloadTooLargeError(
      `${image ? 'Images' : 'Files'} are limited to ${limit / (1024 * 1024)} MB (${limit} bytes); this one is ${size} bytes`,
    );
  }
  if (filename !== undefined) checkFilename(filename);
}

/** A name to save the download under: no path, no control or invisible characters. */
function checkFilename(filename: string): void {
  const characters = [...filename].length;
  if (characters < 1 || characters > MAX_FILENAME_CHARACTERS || filename.trim() !== filename) {
    throw new BadRequestError(
      `filename must be 1-${MAX_FILENAME_CHARACTERS} characters without leading or trailing spaces`,
    );
  }
  if (/[\p{Cc}\p{Cf}/\\"]/u.test(filename) || filename === '.' || filename === '..') {
    throw new BadRequestError(
      'filename must be a plain file name: no /, \\, ", control or invisible characters',
    );
  }
}

/** `createUpload`: one PutItem and a presigned PUT bound to the declared type and size. */
export async function createUpload(
  deps: MediaDeps,
  input: ClientToServer['createUpload'],
  caller: ConnectedUser,
): Promise<ServerReplies['createUpload']> {
  checkUpload(input);
  const record: MediaRecord = {
    mediaId: ulid(caller.now.getTime()),
    ownerId: caller.userId,
    purpose: input.purpose,
    contentType: input.contentType,
    size: input.size,
    ...(input.filename === undefined ? {} : { filename: input.filename }),
    createdAt: caller.now.toISOString(),
  };
  await deps.media.create(record, new Date(caller.now.getTime() + UNATTACHED_SECONDS * 1000));
  const upload = await deps.objects.presignUpload(
    mediaKey(record),
    record.contentType,
    record.size,
    UPLOAD_URL_SECONDS,
  );
  return {
    mediaId: record.mediaId,
    upload: { url: upload.url, method: 'PUT', headers: upload.headers },
    expiresAt: new Date(caller.now.getTime() + UPLOAD_URL_SECONDS * 1000).toISOString(),
  };
}

/**
 * Attaches the caller's upload `mediaId` to `attachedTo`, checking that the object is there, has
 * the declared size and the bytes of the declared type. One conditional write claims the upload
 * first (so two sends cannot both take it); a check that fails then releases it.
 * @param expiresAt when the item (and the object, by the bucket's lifecycle) goes: a story's end; undefined: kept
 * @throws BadRequestError when any of that fails; nothing is recorded then
 */
export async function attachMedia(
  deps: MediaDeps,
  mediaId: string,
  purpose: MediaPurpose,
  attachedTo: string,
  caller: Pick<ConnectedUser, 'userId' | 'now'>,
  expiresAt?: Date,
): Promise<MediaInfo> {
  const record = await deps.media.claim(mediaId, {
    ownerId: caller.userId,
    purpose,
    attachedTo,
    expiresAt,
    now: caller.now,
  });
  if (record === undefined) {
    throw new BadRequestError(
      `There is no upload "${mediaId}" of yours for a ${purpose} that is free to attach here: create one with ` +
        'createUpload (an upload is attached to one place, and kept a day until it is)',
    );
  }
  const key = mediaKey(record);
  let facts: { width?: number; height?: number };
  try {
    const object = await deps.objects.inspect(key, SIGNATURE_BYTES);
    if (object === undefined) {
      throw new BadRequestError(`Upload "${mediaId}" has no file yet: PUT it to the upload URL first`);
    }
    if (object.size !== record.size) {
      throw new BadRequestError(
        `Upload "${mediaId}" is ${object.size} bytes, not the ${record.size} declared`,
      );
    }
    facts = await checkSignature(object.head, record.contentType);
  } catch (error) {
    if (record.attachedTo === undefined) {
      await deps.media.release(
        mediaId,
        attachedTo,
        new Date(Date.parse(record.createdAt) + UNATTACHED_SECONDS * 1000),
      );
    }
    throw error;
  }
  // A retried send finds it tagged already.
  if (record.attachedTo === undefined) await deps.objects.markAttached(key);
  return {
    mediaId,
    contentType: record.contentType,
    size: record.size,
    ...(record.filename === undefined ? {} : { filename: record.filename }),
    ...(facts.width === undefined ? {} : { width: facts.width }),
    ...(facts.height === undefined ? {} : { height: facts.height }),
  };
}

/** Who may see an attached media, by what it is attached to. */
export interface MediaAudience {
  mayView(attachedTo: string, viewerId: string, now: Date): Promise<boolean>;
}

/**
 * `getMedia`: a short-lived download URL for whoever may see what the media is attached to
 * (an unattached upload: its owner only). Everyone else: NOT_FOUND, as if it did not exist.
 * Images are served inline under their checked type; other files as attachments with their name.
 */
export async function getMedia(
  deps: Pick<MediaDeps, 'media' | 'objects'> & { readonly audience: MediaAudience },
  input: ClientToServer['getMedia'],
  caller: ConnectedUser,
): Promise<ServerReplies['getMedia']> {
  const record = await deps.media.get(input.mediaId);
  const visible =
    record !== undefined &&
    (record.ownerId === caller.userId ||
      (record.attachedTo !== undefined &&
        (await deps.audience.mayView(record.attachedTo, caller.userId, caller.now))));
  if (!visible || record === undefined) throw new NotFoundError(`There is no media "${input.mediaId}"`);
  const image = isImageType(record.contentType);
  const url = await deps.objects.presignDownload(
    mediaKey(record),
    {
      contentType: image ? record.contentType : 'application/octet-stream',
      disposition: image ? 'inline' : attachmentDisposition(record.filename ?? record.mediaId),
    },
    DOWNLOAD_URL_SECONDS,
  );
  return { url, expiresAt: new Date(caller.now.getTime() + DOWNLOAD_URL_SECONDS * 1000).toISOString() };
}

/** `attachment; filename="…"; filename*=UTF-8''…` (RFC 6266): an ASCII fallback and the real name. */
export function attachmentDisposition(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\%]/g, '_');
  const encoded = encodeURIComponent(filename).replace(
    /['()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encoded}`;
}

/** What a message's `content.media` target is called in the media item. */
export const conversationTarget = (conversationId: string) => `conversation#${conversationId}`;
