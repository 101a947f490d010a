/** Media rules against in-memory fakes: what createUpload takes, what attaching checks, who getMedia answers. */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ConnectedUser } from '../../lambdas/domain/caller.ts';
import {
  attachMedia,
  attachmentDisposition,
  checkUpload,
  createUpload,
  getMedia,
  type MediaAudience,
  type MediaObjects,
  type MediaRecord,
  type MediaRepository,
  mediaKey,
} from '../../lambdas/domain/media.ts';
import { checkSignature } from '../../lambdas/domain/media-signature.ts';
import {
  clientSchemas,
  MAX_MEDIA_FILE_BYTES,
  MAX_MEDIA_IMAGE_BYTES,
  type MediaPurpose,
} from '../../protocol/index.ts';
import { PNG_BASE64 } from '../image-fixtures.ts';

const png = Buffer.from(PNG_BASE64, 'base64');
const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1]);
const gif = Buffer.from('GIF89a\x02\x00\x03\x00\x00\x00\x00', 'latin1');
const pdf = Buffer.from('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 'latin1');
const html = Buffer.from('<!doctype html><script>alert(1)</script>');

class FakeMedia implements MediaRepository {
  readonly items = new Map<string, MediaRecord & { expiresAt?: number }>();
  async create(record: MediaRecord, expiresAt: Date) {
    this.items.set(record.mediaId, { ...record, expiresAt: expiresAt.getTime() });
  }
  async get(mediaId: string) {
    return this.items.get(mediaId);
  }
  async claim(
    mediaId: string,
    claim: { ownerId: string; purpose: MediaPurpose; attachedTo: string; expiresAt?: Date; now: Date },
  ) {
    const item = this.items.get(mediaId);
    if (item === undefined || item.ownerId !== claim.ownerId || item.purpose !== claim.purpose)
      return undefined;
    const free = item.attachedTo === undefined && (item.expiresAt ?? 0) > claim.now.getTime();
    if (!free && item.attachedTo !== claim.attachedTo) return undefined;
    this.items.set(mediaId, { ...item, attachedTo: claim.attachedTo, expiresAt: claim.expiresAt?.getTime() });
    return item;
  }
  async release(mediaId: string, attachedTo: string, expiresAt: Date) {
    const item = this.items.get(mediaId);
    if (item?.attachedTo !== attachedTo) throw new Error('released a claim it does not hold');
    const { attachedTo: _, ...rest } = item;
    this.items.set(mediaId, { ...rest, expiresAt: expiresAt.getTime() });
  }
}

class FakeObjects implements MediaObjects {
  readonly files = new Map<string, Buffer>();
  readonly attached = new Set<string>();
  readonly downloads: Array<{ key: string; contentType?: string; disposition?: string }> = [];
  async presignUpload(key: string, contentType: string, size: number) {
    return {
      url: `https://s3/${key}?type=${contentType}&size=${size}`,
      headers: { 'Content-Type': contentType },
    };
  }
  async presignDownload(key: string, response?: { contentType: string; disposition: string }) {
    this.downloads.push({ key, ...response });
    return `https://s3/${key}`;
  }
  async inspect(key: string, bytes: number) {
    const file = this.files.get(key);
    return file === undefined ? undefined : { size: file.length, head: file.subarray(0, bytes) };
  }
  async markAttached(key: string) {
    this.attached.add(key);
  }
}

const now = new Date('2026-11-27T12:00:00Z');
const as = (userId: string): ConnectedUser => ({ userId, connectionId: `${userId}-conn`, now });

describe('createUpload rules', () => {
  it('takes images up to 10 MB for any purpose and other files up to 25 MB in messages only', () => {
    expect(() =>
      checkUpload({ purpose: 'story', contentType: 'image/webp', size: MAX_MEDIA_IMAGE_BYTES }),
    ).not.toThrow();
    expect(() =>
      checkUpload({ purpose: 'profile', contentType: 'image/png', size: MAX_MEDIA_IMAGE_BYTES + 1 }),
    ).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    expect(() =>
      checkUpload({ purpose: 'message', contentType: 'application/pdf', size: MAX_MEDIA_FILE_BYTES }),
    ).not.toThrow();
    expect(() =>
      checkUpload({ purpose: 'message', contentType: 'application/pdf', size: MAX_MEDIA_FILE_BYTES + 1 }),
    ).toThrow(expect.objectContaining({ code: 'PAYLOAD_TOO_LARGE' }));
    for (const purpose of ['story', 'profile'] as const) {
      expect(() => checkUpload({ purpose, contentType: 'application/pdf', size: 10 })).toThrow(
        expect.objectContaining({ code: 'BAD_REQUEST' }),
      );
    }
  });

  it('refuses a malformed content type and a file name that is a path or hides characters', () => {
    for (const contentType of ['image/PNG', 'image/png; charset=x', 'png', 'text/', '']) {
      expect(() => checkUpload({ purpose: 'message', contentType, size: 10 }), contentType).toThrow(
        expect.objectContaining({ code: 'BAD_REQUEST' }),
      );
    }
    for (const filename of ['../etc/passwd', 'a\\b', 'x\u202Egnp.exe', 'a\nb', ' lead', '..', 'a"b']) {
      expect(
        () => checkUpload({ purpose: 'message', contentType: 'application/pdf', size: 10, filename }),
        filename,
      ).toThrow(expect.objectContaining({ code: 'BAD_REQUEST' }));
    }
    expect(() =>
      checkUpload({ purpose: 'message', contentType: 'text/plain', size: 10, filename: 'notes é 2026.txt' }),
    ).not.toThrow();
  });
});

describe('the media schemas', () => {
  it('take content.media {mediaId} in sendMessage, never in editMessage (which would skip the checks)', () => {
    const media = { mediaId: '01ARZ3NDEKTSV4RRFFQ69G5FAV' };
    expect(clientSchemas.sendMessage.safeParse({ to: 'bob', content: { media } }).success).toBe(true);
    expect(
      clientSchemas.sendMessage.safeParse({ to: 'bob', content: { media: { ...media, size: 1 } } }).success,
    ).toBe(false);
    const messageId = '01ARZ3NDEKTSV4RRFFQ69G5FAV.alice~bob';
    expect(clientSchemas.editMessage.safeParse({ messageId, content: { text: 'fixed' } }).success).toBe(true);
    expect(clientSchemas.editMessage.safeParse({ messageId, content: { text: 'x', media } }).success).toBe(
      false,
    );
  });
});

describe('checkSignature', () => {
  it('wants the declared image type’s bytes and reads the size', async () => {
    await expect(checkSignature(png, 'image/png')).resolves.toEqual({ width: 1, height: 1 });
    await expect(checkSignature(gif, 'image/gif')).resolves.toEqual({ width: 2, height: 3 });
    await expect(checkSignature(jpeg, 'image/jpeg')).resolves.toEqual({});
    for (const [bytes, type] of [
      [png, 'image/jpeg'],
      [html, 'image/png'],
      [pdf, 'image/webp'],
    ] as const) {
      await expect(checkSignature(bytes, type)).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    }
  });

  it('lets unknown-signature files pass as declared, but not a known type without its signature or an image in disguise', async () => {
    await expect(checkSignature(pdf, 'application/pdf')).resolves.toEqual({});
    await expect(checkSignature(Buffer.from('a,b\n1,2\n'), 'text/csv')).resolves.toEqual({});
    await expect(checkSignature(png, 'application/octet-stream')).resolves.toEqual({});
    await expect(checkSignature(html, 'application/pdf')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    await expect(checkSignature(png, 'text/plain')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });
});

describe('attach and getMedia', () => {
  let media: FakeMedia;
  let objects: FakeObjects;
  const members = new Set(['ann', 'bob']);
  const audience: MediaAudience = {
    async mayView(attachedTo, viewerId) {
      return attachedTo === 'conversation#ann#bob' && members.has(viewerId);
    },
  };

  beforeEach(() => {
    media = new FakeMedia();
    objects = new FakeObjects();
  });

  const upload = async (owner: string, contentType: string, bytes: Buffer, declared = bytes.length) => {
    const { mediaId } = await createUpload(
      { media, objects },
      { purpose: 'message', contentType, size: declared, filename: 'x.bin' },
      as(owner),
    );
    objects.files.set(mediaKey({ purpose: 'message', mediaId }), bytes);
    return mediaId;
  };

  it('attaches the owner’s upload once, to one target, and tags it attached', async () => {
    const mediaId = await upload('ann', 'image/png', png);
    const info = await attachMedia({ media, objects }, mediaId, 'message', 'conversation#ann#bob', as('ann'));
    expect(info).toEqual({
      mediaId,
      contentType: 'image/png',
      size: png.length,
      filename: 'x.bin',
      width: 1,
      height: 1,
    });
    expect(objects.attached.has(`message/${mediaId}`)).toBe(true);
    // A retry to the same target gets the same answer; another target is refused.
    await expect(
      attachMedia({ media, objects }, mediaId, 'message', 'conversation#ann#bob', as('ann')),
    ).resolves.toEqual(info);
    await expect(
      attachMedia({ media, objects }, mediaId, 'message', 'conversation#ann#eve', as('ann')),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('refuses someone else’s upload, a wrong size, a lying type and a missing file, recording nothing', async () => {
    const others = await upload('eve', 'image/png', png);
    const wrongSize = await upload('ann', 'image/png', png, png.length + 1);
    const lying = await upload('ann', 'image/png', html);
    const { mediaId: missing } = await createUpload(
      { media, objects },
      { purpose: 'message', contentType: 'image/png', size: 10 },
      as('ann'),
    );
    for (const mediaId of [others, wrongSize, lying, missing, '01ARZ3NDEKTSV4RRFFQ69G5FAV']) {
      await expect(
        attachMedia({ media, objects }, mediaId, 'message', 'conversation#ann#bob', as('ann')),
      ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      expect(media.items.get(mediaId)?.attachedTo).toBeUndefined();
    }
    expect(objects.attached.size).toBe(0);
  });

  it('answers getMedia to the owner and the conversation’s members, NOT_FOUND to everyone else', async () => {
    const photo = await upload('ann', 'image/png', png);
    const file = await upload('ann', 'application/pdf', pdf);
    await expect(getMedia({ media, objects, audience }, { mediaId: photo }, as('bob'))).rejects.toMatchObject(
      {
        code: 'NOT_FOUND',
      },
    );
    await expect(
      getMedia({ media, objects, audience }, { mediaId: photo }, as('ann')),
    ).resolves.toBeDefined();
    for (const mediaId of [photo, file]) {
      await attachMedia({ media, objects }, mediaId, 'message', 'conversation#ann#bob', as('ann'));
      await expect(getMedia({ media, objects, audience }, { mediaId }, as('bob'))).resolves.toMatchObject({
        url: `https://s3/message/${mediaId}`,
        expiresAt: new Date(now.getTime() + 3600_000).toISOString(),
      });
      await expect(getMedia({ media, objects, audience }, { mediaId }, as('eve'))).rejects.toMatchObject({
        code: 'NOT_FOUND',
      });
    }
    // Images are shown under their checked type; other files are downloads with their name.
    expect(objects.downloads.at(-1)).toEqual({
      key: `message/${file}`,
      contentType: 'application/octet-stream',
      disposition: attachmentDisposition('x.bin'),
    });
    expect(objects.downloads[1]).toMatchObject({ contentType: 'image/png', disposition: 'inline' });
  });

  it('names downloads safely for any file name (RFC 6266)', () => {
    expect(attachmentDisposition('résumé "v2".pdf')).toBe(
      `attachment; filename="r_sum_ _v2_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9%20%22v2%22.pdf`,
    );
  });
});
