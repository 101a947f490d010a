/**
 * Media end to end: createUpload, a PUT with fetch to the presigned URL (the local S3, which
 * checks the URL's signature, expiry, type and size as S3 does), sendMessage with
 * `content.media`, delivery, and getMedia for the recipient, refused to everyone else.
 */
import { deflateSync } from 'node:zlib';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ParleyClient } from '../../client/index.ts';
import { MAX_MEDIA_IMAGE_BYTES, type MediaPurpose } from '../../protocol/index.ts';
import { type Harness, startHarness } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
afterEach(() => h.cleanUp());

/** A valid PNG of `width` × `height`, padded with an unknown ancillary chunk to `size` bytes. */
function png(width: number, height: number, size = 0): Buffer {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc = (bytes: Buffer) => {
    let c = 0xffffffff;
    for (const byte of bytes) c = (crcTable[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Buffer) => {
    const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const sum = Buffer.alloc(4);
    sum.writeUInt32BE(crc(body));
    return Buffer.concat([length, body, sum]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const rows = Buffer.alloc((width * 3 + 1) * height);
  const parts = [
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(rows)),
  ];
  const end = chunk('IEND', Buffer.alloc(0));
  const used = parts.reduce((sum, part) => sum + part.length, 0) + end.length;
  if (size > used + 12) parts.push(chunk('prVt', Buffer.alloc(size - used - 12, 7)));
  return Buffer.concat([...parts, end]);
}

async function upload(
  url: string,
  headers: Record<string, string>,
  body: Buffer,
): Promise<{ status: number; text: string }> {
  const response = await fetch(url, { method: 'PUT', headers, body });
  return { status: response.status, text: await response.text() };
}

/** An image upload of `photo` for `purpose`, its bytes put at the presigned URL: what createUpload answered. */
async function uploadedImage(client: ParleyClient, purpose: MediaPurpose, photo: Buffer) {
  const created = await client.request('createUpload', {
    purpose,
    contentType: 'image/png',
    size: photo.length,
  });
  await upload(created.upload.url, created.upload.headers, photo);
  return created;
}

describe('media', () => {
  it('carries a 5 MB photo from one user to another: upload, attach, deliver, download', async () => {
    const [ann, bob] = (await h.users('ann', 'bob')) as [string, string];
    const sender = await h.connect(ann);
    const recipient = await h.connect(bob);
    const photo = png(640, 480, 5 * 1024 * 1024);

    h.stack.metrics.reset();
    const created = await sender.request('createUpload', {
      purpose: 'message',
      contentType: 'image/png',
      size: photo.length,
    });
    expect(created.upload.method).toBe('PUT');
    expect(Date.parse(created.expiresAt)).toBeGreaterThan(Date.now());
    expect(await upload(created.upload.url, created.upload.headers, photo)).toMatchObject({ status: 200 });
    // The counts bench/media.ts prices: createUpload writes the media item and nothing else.
    expect((await h.stack.metrics.waitFor('createUpload')).dynamoCommands).toEqual(['PutItem']);

    const { message } = await sender.request('sendMessage', {
      to: bob,
      content: { text: 'the view', media: { mediaId: created.mediaId } },
    });
    const expected = {
      mediaId: created.mediaId,
      contentType: 'image/png',
      size: photo.length,
      width: 640,
      height: 480,
    };
    expect(message.content?.media).toEqual(expected);
    const delivered = await recipient.waitFor('message', (e) => e.message.messageId === message.messageId);
    expect(delivered.message.content?.media).toEqual(expected);
    // Attaching adds one conditional update of the media item to a direct send's three.
    expect((await h.stack.metrics.waitFor('sendMessage')).dynamoCommands.sort()).toEqual(
      ['BatchGetItem', 'PutItem', 'TransactWriteItems', 'UpdateItem'].sort(),
    );

    const { url } = await recipient.request('getMedia', { mediaId: created.mediaId });
    expect((await h.stack.metrics.waitFor('getMedia')).dynamoCommands).toEqual(['GetItem']);
    const download = await fetch(url);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await download.arrayBuffer()).equals(photo)).toBe(true);
  });

  it('answers NOT_FOUND to a stranger, and refuses someone else’s mediaId', async () => {
    const [ann, bob, eve] = (await h.users('ann', 'bob', 'eve')) as [string, string, string];
    const sender = await h.connect(ann);
    const stranger = await h.connect(eve);
    const photo = png(8, 8);
    const created = await uploadedImage(sender, 'message', photo);

    // Not attached yet: only its owner may see it.
    await expect(stranger.request('getMedia', { mediaId: created.mediaId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    // Eve cannot send Ann's upload as her own.
    await expect(
      stranger.request('sendMessage', { to: bob, content: { media: { mediaId: created.mediaId } } }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });

    await sender.request('sendMessage', { to: bob, content: { media: { mediaId: created.mediaId } } });
    await expect(stranger.request('getMedia', { mediaId: created.mediaId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    // Attached to the conversation with Bob, it cannot be sent to Eve too.
    await expect(
      sender.request('sendMessage', { to: eve, content: { media: { mediaId: created.mediaId } } }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
    expect((await h.itemsOf('messages', [eve])).filter((item) => item.pk !== undefined)).toEqual([]);
  });

  it('refuses a file whose bytes are not its declared type, and stores no message', async () => {
    const [ann, bob] = (await h.users('ann', 'bob')) as [string, string];
    const sender = await h.connect(ann);
    const html = Buffer.from('<html><script>alert(1)</script></html>');
    const created = await sender.request('createUpload', {
      purpose: 'message',
      contentType: 'image/png',
      size: html.length,
    });
    expect(await upload(created.upload.url, created.upload.headers, html)).toMatchObject({ status: 200 });
    await expect(
      sender.request('sendMessage', { to: bob, content: { media: { mediaId: created.mediaId } } }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('image/png') });
    expect(await h.itemsOf('messages', [bob])).toEqual([]);
  });

  it('holds the upload to its declared type and size at S3, and refuses an oversize one at createUpload', async () => {
    const [ann] = (await h.users('ann')) as [string];
    const sender = await h.connect(ann);
    const photo = png(4, 4);
    const created = await sender.request('createUpload', {
      purpose: 'message',
      contentType: 'image/png',
      size: photo.length,
    });
    const otherType = await upload(created.upload.url, { 'Content-Type': 'text/html' }, photo);
    expect(otherType.status).toBe(403);
    expect(otherType.text).toContain('SignatureDoesNotMatch');
    const larger = await upload(created.upload.url, created.upload.headers, Buffer.concat([photo, photo]));
    expect(larger.status).toBe(403);

    await expect(
      sender.request('createUpload', {
        purpose: 'message',
        contentType: 'image/jpeg',
        size: MAX_MEDIA_IMAGE_BYTES + 1,
      }),
    ).rejects.toMatchObject({ code: 'PAYLOAD_TOO_LARGE' });
    await expect(
      sender.request('createUpload', { purpose: 'story', contentType: 'application/pdf', size: 1000 }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST' });
  });

  it('posts a story with a media photo: followers get a download URL, others NOT_FOUND', async () => {
    const [sam, fan, eve] = (await h.users('sam', 'fan', 'eve')) as [string, string, string];
    const owner = await h.connect(sam);
    const follower = await h.connect(fan);
    const stranger = await h.connect(eve);
    await follower.request('follow', { userId: sam });
    const photo = png(320, 200, 300 * 1024);
    const created = await uploadedImage(owner, 'story', photo);
    // An upload for a message cannot become a story, and nobody posts someone else's.
    const forMessage = await owner.request('createUpload', {
      purpose: 'message',
      contentType: 'image/png',
      size: photo.length,
    });
    await upload(forMessage.upload.url, forMessage.upload.headers, photo);
    await expect(owner.request('postStory', { mediaId: forMessage.mediaId })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(stranger.request('postStory', { mediaId: created.mediaId })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });

    const { storyId } = await owner.request('postStory', { mediaId: created.mediaId, caption: 'dunes' });
    const seen = await follower.request('getStoryPhoto', { ownerId: sam, storyId });
    expect(seen).toMatchObject({ status: true, id: storyId, url: expect.any(String) });
    expect(seen.image).toBeUndefined();
    const download = await fetch(seen.url as string);
    expect(download.headers.get('content-type')).toBe('image/png');
    expect(Buffer.from(await download.arrayBuffer()).equals(photo)).toBe(true);
    await expect(follower.request('getMedia', { mediaId: created.mediaId })).resolves.toMatchObject({
      url: expect.any(String),
    });
    for (const request of [
      stranger.request('getStoryPhoto', { ownerId: sam, storyId }),
      stranger.request('getMedia', { mediaId: created.mediaId }),
    ]) {
      await expect(request).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
  });

  it('sets a profile photo from an upload: others see its photoMediaId and download it, a blocked user cannot', async () => {
    const [pia, pal, bo] = (await h.users('pia', 'pal', 'bo')) as [string, string, string];
    const owner = await h.connect(pia);
    const friend = await h.connect(pal);
    const blocked = await h.connect(bo);
    await owner.request('block', { userId: bo });
    const photo = png(96, 96);
    const created = await uploadedImage(owner, 'profile', photo);
    await expect(friend.request('updateProfile', { photoMediaId: created.mediaId })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });

    const own = await owner.request('updateProfile', { photoMediaId: created.mediaId });
    expect(own).toMatchObject({ photoMediaId: created.mediaId });
    expect(own.photo).toBeUndefined();
    const seen = await friend.request('getProfile', { userId: pia });
    expect(seen.photoMediaId).toBe(created.mediaId);
    const { url } = await friend.request('getMedia', { mediaId: created.mediaId });
    expect(Buffer.from(await (await fetch(url)).arrayBuffer()).equals(photo)).toBe(true);
    await expect(blocked.request('getMedia', { mediaId: created.mediaId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
  });

  it('refuses to attach an upload whose file never arrived', async () => {
    const [ann, bob] = (await h.users('ann', 'bob')) as [string, string];
    const sender = await h.connect(ann);
    const created = await sender.request('createUpload', {
      purpose: 'message',
      contentType: 'image/png',
      size: 1000,
    });
    await expect(
      sender.request('sendMessage', { to: bob, content: { media: { mediaId: created.mediaId } } }),
    ).rejects.toMatchObject({ code: 'BAD_REQUEST', message: expect.stringContaining('no file yet') });
  });
});
