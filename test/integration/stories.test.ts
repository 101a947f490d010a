/**
 * 24-hour stories end to end: real WebSocket clients against the local stack, a controllable
 * clock for expiry (the handlers run in this process, so faking `Date` moves their `now`),
 * and the feed's DynamoDB requests counted at 5 and 250 followed users (the cost ceilings of
 * docs/architecture.md: 1 + 1 per 100 followed users).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ParleyClient } from '../../client/index.ts';
import { pngDataUrl } from '../image-fixtures.ts';
import { type Harness, startHarness } from './harness.ts';

/** A use case's caller, for seeding through the domain. */
const asUser = (userId: string) => ({ userId, connectionId: 'seed', now: new Date() });

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.stop());
beforeEach(() => h.stack.metrics.reset());
afterEach(async () => {
  vi.useRealTimers();
  await h.cleanUp();
});

const image = pngDataUrl;

function requestsOf(routeKey: string): number {
  const record = h.stack.metrics.last(routeKey);
  if (record === undefined) throw new Error(`No ${routeKey} invocation`);
  return record.dynamoRequests;
}

describe('posting, the feed and photos', () => {
  it('shows followers the stories of whom they follow, grouped by owner, newest first', async () => {
    const [samId, sueId, sidId] = await h.users('sam', 'sue', 'sid');
    const [sam, sue, sid] = await Promise.all([h.connect(samId), h.connect(sueId), h.connect(sidId)]);
    await sid.request('follow', { userId: samId });
    await sid.request('follow', { userId: sueId });

    const first = await sam.request('postStory', { image: image('B'), caption: '  morning  ' });
    expect(requestsOf('postStory')).toBe(2);
    const second = await sue.request('postStory', { image: image('C') });
    const third = await sam.request('postStory', { image: image('D'), caption: 'noon' });
    expect(Date.parse(first.expiresAt) - Date.now()).toBeGreaterThan(24 * 3600_000 - 60_000);

    const { stories } = await sid.request('getFollowingStories', {});
    expect(requestsOf('getFollowingStories')).toBe(2);
    expect(stories).toEqual([
      {
        ownerId: samId,
        items: [
          {
            storyId: third.storyId,
            createdAt: expect.any(String),
            expiresAt: third.expiresAt,
            caption: 'noon',
          },
          {
            storyId: first.storyId,
            createdAt: expect.any(String),
            expiresAt: first.expiresAt,
            caption: 'morning',
          },
        ],
      },
      {
        ownerId: sueId,
        items: [{ storyId: second.storyId, createdAt: expect.any(String), expiresAt: second.expiresAt }],
      },
    ]);
    // No image in the feed: photos are fetched one at a time.
    expect(JSON.stringify(stories)).not.toContain('AAAA');

    expect(await sid.request('getStoryPhoto', { ownerId: samId, storyId: first.storyId })).toEqual({
      status: true,
      id: first.storyId,
      image: image('B'),
    });
    expect(requestsOf('getStoryPhoto')).toBe(1);
    // The owner sees their own.
    expect(await sam.request('getStoryPhoto', { ownerId: samId, storyId: third.storyId })).toMatchObject({
      image: image('D'),
    });
    await Promise.all([sam.close(), sue.close(), sid.close()]);
  });

  it('answers NOT_FOUND to users who do not follow the owner, and for unknown stories', async () => {
    const [samId, salId] = await h.users('sam', 'sal');
    const [sam, sal] = await Promise.all([h.connect(samId), h.connect(salId)]);
    const { storyId } = await sam.request('postStory', { image: image() });
    await expect(sal.request('getStoryPhoto', { ownerId: samId, storyId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    expect((await sal.request('getFollowingStories', {})).stories).toEqual([]);
    await sal.request('follow', { userId: samId });
    await expect(sal.request('getStoryPhoto', { ownerId: samId, storyId })).resolves.toMatchObject({
      status: true,
    });
    await expect(
      sal.request('getStoryPhoto', { ownerId: samId, storyId: '01JZZZZZZZZZZZZZZZZZZZZZZZ' }),
    ).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(sal.request('getStoryPhoto', { ownerId: samId, storyId: 'nope' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await sal.request('unfollow', { userId: samId });
    await Promise.all([sam.close(), sal.close()]);
  });

  it('hides the stories of a user who blocks a follower, at once', async () => {
    const [sueId, skyId] = await h.users('sue', 'sky');
    const [sue, sky] = await Promise.all([h.connect(sueId), h.connect(skyId)]);
    await sky.request('follow', { userId: sueId });
    const { storyId } = await sue.request('postStory', { image: image() });
    expect((await sky.request('getFollowingStories', {})).stories.map((s) => s.ownerId)).toEqual([sueId]);
    await sue.request('block', { userId: skyId });
    expect((await sky.request('getFollowingStories', {})).stories).toEqual([]);
    await expect(sky.request('getStoryPhoto', { ownerId: sueId, storyId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(sky.request('follow', { userId: sueId })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await sue.request('unblock', { userId: skyId });
    await Promise.all([sue.close(), sky.close()]);
  });

  it('deleteStory removes the owner’s story for everyone, idempotently', async () => {
    const [salId, skyId] = await h.users('sal', 'sky');
    const [sal, sky] = await Promise.all([h.connect(salId), h.connect(skyId)]);
    await sky.request('follow', { userId: salId });
    const { storyId } = await sal.request('postStory', { image: image() });
    const kept = await sal.request('postStory', { image: image() });
    expect(await sal.request('deleteStory', { storyId })).toEqual({});
    expect(requestsOf('deleteStory')).toBe(2);
    expect(await sal.request('deleteStory', { storyId })).toEqual({});
    const feed = (await sky.request('getFollowingStories', {})).stories;
    expect(feed.find((s) => s.ownerId === salId)?.items.map((i) => i.storyId)).toEqual([kept.storyId]);
    await expect(sky.request('getStoryPhoto', { ownerId: salId, storyId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    // Only one's own stories can be deleted: the id is looked up under the caller.
    await sky.request('deleteStory', { storyId: kept.storyId });
    await expect(
      sky.request('getStoryPhoto', { ownerId: salId, storyId: kept.storyId }),
    ).resolves.toMatchObject({
      status: true,
    });
    await Promise.all([sal.close(), sky.close()]);
  });

  it('refuses oversize or malformed images and captions, storing nothing', async () => {
    const [samId] = await h.users('sam');
    const sam = await h.connect(samId);
    const before = (await h.itemsOf('stories', [samId])).length;
    await expect(sam.request('postStory', { image: image('A', 28_000) })).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await expect(sam.request('postStory', { image: 'not base64!' })).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    await expect(
      sam.request('postStory', { image: image(), caption: 'x'.repeat(201) }),
    ).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect((await h.itemsOf('stories', [samId])).length).toBe(before);
    await sam.close();
  });

  it('caps a user at 50 active stories with RATE_LIMITED', async () => {
    const [maxId] = await h.users('max');
    const max = await h.connect(maxId);
    for (let i = 0; i < 50; i += 1) await max.request('postStory', { image: image() });
    await expect(max.request('postStory', { image: image() })).rejects.toMatchObject({
      code: 'RATE_LIMITED',
    });
    await max.close();
  });
});

describe('24-hour expiry, with a controllable clock', () => {
  it('never returns a story from its 24th hour on, though DynamoDB still holds it', async () => {
    const [miaId, sidId] = await h.users('mia', 'sid');
    const [mia, sid] = await Promise.all([h.connect(miaId), h.connect(sidId)]);
    await sid.request('follow', { userId: miaId });
    const posted = new Date('2030-05-01T10:00:00.000Z');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(posted);
    const { storyId, expiresAt } = await mia.request('postStory', {
      image: image('E'),
      caption: 'short-lived',
    });
    expect(expiresAt).toBe('2030-05-02T10:00:00.000Z');

    vi.setSystemTime(new Date('2030-05-02T09:59:59.999Z'));
    const feed = (await sid.request('getFollowingStories', {})).stories;
    expect(feed.find((s) => s.ownerId === miaId)?.items.map((i) => i.storyId)).toEqual([storyId]);
    await expect(sid.request('getStoryPhoto', { ownerId: miaId, storyId })).resolves.toMatchObject({
      status: true,
    });

    vi.setSystemTime(new Date('2030-05-02T10:00:00.000Z'));
    expect(
      (await sid.request('getFollowingStories', {})).stories.find((s) => s.ownerId === miaId),
    ).toBeUndefined();
    await expect(sid.request('getStoryPhoto', { ownerId: miaId, storyId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    await expect(mia.request('getStoryPhoto', { ownerId: miaId, storyId })).rejects.toMatchObject({
      code: 'NOT_FOUND',
    });
    // TTL has not removed it: the reads alone keep it out.
    const stored = (await h.items('stories')).find((item) => item.sk === `story#${storyId}`);
    expect(stored?.expiresAt).toBe(Date.parse(expiresAt) / 1000);

    // The owner's next post drops the expired entry from the summary.
    const next = await mia.request('postStory', { image: image() });
    const summary = (await h.items('stories')).find((item) => item.pk === miaId && item.sk === 'summary');
    expect((summary?.stories as { storyId: string }[] | undefined)?.map((s) => s.storyId)).toEqual([
      next.storyId,
    ]);
    vi.useRealTimers();
    await Promise.all([mia.close(), sid.close()]);
  });
});

describe('getFollowingStories cost', () => {
  /** `viewer` follows `count` fresh users who each have one story; the feed's requests. */
  async function measure(count: number): Promise<{ requests: number; owners: number }> {
    const [viewer] = await h.users('viewer');
    const owners = await h.users(...Array.from({ length: count }, (_, i) => `owner${i}`));
    // Imported now: the adapters read the table names the stack put in the environment.
    const { DynamoStoryStore } = await import('../../lambdas/adapters/story-store.ts');
    const { DynamoRelationStore } = await import('../../lambdas/adapters/relation-store.ts');
    const { postStory } = await import('../../lambdas/domain/stories.ts');
    const { follow } = await import('../../lambdas/domain/relations.ts');
    const [stories, relations] = [new DynamoStoryStore(), new DynamoRelationStore()];
    for (let i = 0; i < owners.length; i += 25) {
      await Promise.all(
        owners.slice(i, i + 25).map(async (owner) => {
          await postStory(stories, { image: image() }, asUser(owner));
          await follow(relations, { userId: owner }, asUser(viewer));
        }),
      );
    }
    const client = await h.connect(viewer);
    h.stack.metrics.reset();
    let feed = await client.request('getFollowingStories', {});
    const requests = requestsOf('getFollowingStories');
    let seenOwners = feed.stories.length;
    while (feed.nextCursor !== undefined) {
      feed = await client.request('getFollowingStories', { cursor: feed.nextCursor });
      seenOwners += feed.stories.length;
    }
    await client.close();
    return { requests, owners: seenOwners };
  }

  it('is 1 + 1 per 100 followed users: 2 at 5, 4 at 250', async () => {
    const five = await measure(5);
    const many = await measure(250);
    console.info('getFollowingStories DynamoDB requests:', { 5: five.requests, 250: many.requests });
    expect(five).toEqual({ requests: 2, owners: 5 });
    expect(many).toEqual({ requests: 1 + Math.ceil(250 / 100), owners: 250 });
  }, 120_000);
});

describe('a large feed', () => {
  it('stays under API Gateway’s 128 KB message limit and pages the rest with nextCursor', async () => {
    const { DynamoStoryStore } = await import('../../lambdas/adapters/story-store.ts');
    const { DynamoRelationStore } = await import('../../lambdas/adapters/relation-store.ts');
    const { postStory } = await import('../../lambdas/domain/stories.ts');
    const { follow } = await import('../../lambdas/domain/relations.ts');
    const [viewerId] = await h.users('big_viewer');
    const owners = await h.users(...Array.from({ length: 12 }, (_, i) => `big_owner${i}`));
    const [stories, relations] = [new DynamoStoryStore(), new DynamoRelationStore()];
    // 12 owners × 50 stories × a 200-character caption: about 190 KB of entries.
    for (const owner of owners) {
      await follow(relations, { userId: owner }, asUser(viewerId));
      for (let i = 0; i < 50; i += 1) {
        await postStory(
          stories,
          { image: image(), caption: `${owner} ${i} `.padEnd(200, 'é') },
          asUser(owner),
        );
      }
    }
    const viewer: ParleyClient = await h.connect(viewerId);
    const frames: number[] = [];
    viewer.on('frame', (frame) => frames.push(Buffer.byteLength(JSON.stringify(frame))));
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await viewer.request('getFollowingStories', cursor === undefined ? {} : { cursor });
      for (const group of page.stories) ids.push(...group.items.map((i) => i.storyId));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(ids).toHaveLength(600);
    expect(new Set(ids).size).toBe(600);
    expect([...ids].sort().reverse()).toEqual(ids);
    expect(frames.length).toBeGreaterThan(1);
    expect(Math.max(...frames)).toBeLessThan(128 * 1024);
    await viewer.close();
  }, 120_000);
});
