import { beforeEach, describe, expect, it } from 'vitest';
import {
  deleteStory,
  getFollowingStories,
  getStoryPhoto,
  MAX_ACTIVE_STORIES,
  postStory,
  STORY_FEED_BUDGET_BYTES,
  STORY_LIFETIME_MS,
} from '../../lambdas/domain/stories.ts';
import { MAX_IMAGE_BYTES, STORY_ID_PATTERN } from '../../protocol/index.ts';
import { pngDataUrl } from '../image-fixtures.ts';
import { callerAs } from './fakes.ts';
import { FakeStories } from './social-fakes.ts';

const t0 = new Date('2026-11-22T10:00:00.000Z');
const at = (ms: number) => new Date(t0.getTime() + ms);
const photo = pngDataUrl();

describe('story use cases', () => {
  let stories: FakeStories;

  beforeEach(() => {
    stories = new FakeStories();
    stories.graph.follows.set('viewer>ann', t0.toISOString());
    stories.graph.follows.set('viewer>bob', t0.toISOString());
  });

  it('posts a story that lives exactly 24 hours', async () => {
    const posted = await postStory(stories, { image: photo, caption: 'hi' }, callerAs('ann', t0));
    expect(posted.storyId).toMatch(STORY_ID_PATTERN);
    expect(posted.expiresAt).toBe('2026-11-23T10:00:00.000Z');
    expect(stories.summaries.get('ann')?.stories).toEqual([
      { storyId: posted.storyId, createdAt: t0.toISOString(), expiresAt: posted.expiresAt, caption: 'hi' },
    ]);
  });

  it('refuses an oversize or malformed image and stores nothing', async () => {
    await expect(
      postStory(stories, { image: 'A'.repeat(MAX_IMAGE_BYTES + 4) }, callerAs('ann', t0)),
    ).rejects.toMatchObject({
      code: 'PAYLOAD_TOO_LARGE',
    });
    await expect(postStory(stories, { image: 'no!' }, callerAs('ann', t0))).rejects.toMatchObject({
      code: 'BAD_REQUEST',
    });
    expect(stories.summaries.size).toBe(0);
  });

  it('caps active stories, saying when the first one expires; expired ones do not count', async () => {
    for (let i = 0; i < MAX_ACTIVE_STORIES; i += 1)
      await postStory(stories, { image: photo }, callerAs('ann', at(i * 1000)));
    const refused = await postStory(stories, { image: photo }, callerAs('ann', at(3600_000))).catch(
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({
      code: 'RATE_LIMITED',
      retryAfterSeconds: (STORY_LIFETIME_MS - 3600_000) / 1000,
    });
    // Once the first has expired there is room, and the expired entry leaves the summary.
    await postStory(stories, { image: photo }, callerAs('ann', at(STORY_LIFETIME_MS)));
    expect(stories.summaries.get('ann')?.stories).toHaveLength(MAX_ACTIVE_STORIES);
  });

  it('retries when the summary changed meanwhile, and gives up with CONFLICT', async () => {
    stories.conflicts = 2;
    await expect(postStory(stories, { image: photo }, callerAs('ann', t0))).resolves.toBeDefined();
    stories.conflicts = 5;
    await expect(postStory(stories, { image: photo }, callerAs('ann', t0))).rejects.toMatchObject({
      code: 'CONFLICT',
    });
  });

  it('the feed groups active stories by owner, newest first, owners by their newest story', async () => {
    const a1 = await postStory(stories, { image: photo }, callerAs('ann', at(0)));
    const b1 = await postStory(stories, { image: photo }, callerAs('bob', at(1000)));
    const a2 = await postStory(stories, { image: photo }, callerAs('ann', at(2000)));
    await postStory(stories, { image: photo }, callerAs('cat', at(3000))); // not followed
    const { stories: feed, nextCursor } = await getFollowingStories(
      stories,
      {},
      callerAs('viewer', at(5000)),
    );
    expect(nextCursor).toBeUndefined();
    expect(feed.map((g) => [g.ownerId, g.items.map((i) => i.storyId)])).toEqual([
      ['ann', [a2.storyId, a1.storyId]],
      ['bob', [b1.storyId]],
    ]);
    // From the 24th hour of the first story on, it is gone.
    const later = await getFollowingStories(stories, {}, callerAs('viewer', at(STORY_LIFETIME_MS)));
    expect(later.stories.map((g) => [g.ownerId, g.items.map((i) => i.storyId)])).toEqual([
      ['ann', [a2.storyId]],
      ['bob', [b1.storyId]],
    ]);
  });

  it('keeps a feed reply within its byte budget and pages the rest by cursor', async () => {
    const owners = Array.from({ length: 10 }, (_, i) => `owner${i}`);
    for (const owner of owners) {
      stories.graph.follows.set(`viewer>${owner}`, t0.toISOString());
      for (let i = 0; i < MAX_ACTIVE_STORIES; i += 1) {
        await postStory(stories, { image: photo, caption: 'c'.repeat(200) }, callerAs(owner, at(i)));
      }
    }
    const ids: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await getFollowingStories(
        stories,
        cursor === undefined ? {} : { cursor },
        callerAs('viewer', at(1000)),
      );
      expect(Buffer.byteLength(JSON.stringify(page.stories))).toBeLessThanOrEqual(STORY_FEED_BUDGET_BYTES);
      ids.push(...page.stories.flatMap((g) => g.items.map((i) => i.storyId)));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== undefined);
    expect(pages).toBeGreaterThan(1);
    expect(ids).toHaveLength(500);
    expect([...ids].sort().reverse()).toEqual(ids);
  });

  it('shows a photo to its owner and to followers who are not blocked, until it expires', async () => {
    const { storyId } = await postStory(stories, { image: photo }, callerAs('ann', t0));
    const ask = (viewer: string, now = at(1000)) =>
      getStoryPhoto(stories, { ownerId: 'ann', storyId }, callerAs(viewer, now));
    expect(await ask('ann')).toEqual({ status: true, id: storyId, image: photo });
    expect(await ask('viewer')).toEqual({ status: true, id: storyId, image: photo });
    await expect(ask('stranger')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    stories.graph.blocks.add('ann>viewer');
    await expect(ask('viewer')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    stories.graph.blocks.clear();
    expect(await ask('viewer', at(STORY_LIFETIME_MS - 1))).toMatchObject({ status: true });
    await expect(ask('viewer', at(STORY_LIFETIME_MS))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(ask('ann', at(STORY_LIFETIME_MS))).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('deletes a story idempotently, dropping expired entries too', async () => {
    const old = await postStory(stories, { image: photo }, callerAs('ann', at(0)));
    const kept = await postStory(stories, { image: photo }, callerAs('ann', at(STORY_LIFETIME_MS / 2)));
    const gone = await postStory(stories, { image: photo }, callerAs('ann', at(STORY_LIFETIME_MS / 2 + 1)));
    const now = at(STORY_LIFETIME_MS);
    expect(await deleteStory(stories, { storyId: gone.storyId }, callerAs('ann', now))).toEqual({});
    expect(await deleteStory(stories, { storyId: gone.storyId }, callerAs('ann', now))).toEqual({});
    expect(stories.summaries.get('ann')?.stories.map((s) => s.storyId)).toEqual([kept.storyId]);
    expect(stories.photos.has(`ann/${gone.storyId}`)).toBe(false);
    expect(stories.photos.has(`ann/${old.storyId}`)).toBe(true);
    await deleteStory(stories, { storyId: kept.storyId }, callerAs('ann', now));
    expect(stories.summaries.has('ann')).toBe(false);
  });
});
