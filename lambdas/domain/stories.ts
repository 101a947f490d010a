/**
 * 24-hour stories (the first seed's sendAllFollowingStorysInfoFromServer and
 * sendStoryPhotoFromServer).
 *
 * A story lives exactly `STORY_LIFETIME_MS` from its post; every read drops expired ones
 * itself (DynamoDB's TTL deletes them only eventually). Only the owner and the owner's
 * followers see a story, and a block removes the follows both ways (domain/relations.ts), so
 * a blocked user stops seeing the blocker's stories at once. Each user has at most
 * `MAX_ACTIVE_STORIES` active stories: the owner's summary item, which the story feed reads,
 * lists them all and must stay small.
 */
import { monotonicFactory } from 'ulid';
import type { ClientToServer, ServerReplies, StoryGroup, StoryInfo } from '../../protocol/index.ts';
import { BadRequestError, ConflictError, NotFoundError, RateLimitedError } from '../shared/errors.ts';
import type { ConnectedUser } from './caller.ts';
import { checkImage } from './content.ts';
import { attachMedia, DOWNLOAD_URL_SECONDS, type MediaDeps, type MediaObjects, mediaKey } from './media.ts';

export const STORY_LIFETIME_MS = 24 * 60 * 60 * 1000;
export const MAX_ACTIVE_STORIES = 50;
/**
 * The feed's reply stays under this many bytes of story entries (API Gateway closes a socket
 * on a message over 128 KB); the rest follows with `cursor: nextCursor`.
 */
export const STORY_FEED_BUDGET_BYTES = 96 * 1024;
const MAX_WRITE_ATTEMPTS = 5;

/** An owner's stories as the summary item lists them (active and, until the next write, expired ones). */
export interface StorySummary {
  readonly stories: readonly StoryInfo[];
  /** 0 when the owner has no summary item. */
  readonly version: number;
}

export interface OwnerStories {
  readonly ownerId: string;
  readonly stories: readonly StoryInfo[];
}

/** One story's photo and what decides whether the viewer may see it, read together. */
export interface StoryPhotoView {
  readonly story?: { readonly image: string; readonly createdAt: string };
  /** The viewer follows the owner. */
  readonly viewerFollows: boolean;
  /** A block stands between viewer and owner, either way. */
  readonly blocked: boolean;
}

/** The owner's side: posting and deleting. */
export interface StoryStore {
  /** The owner's summary (consistent read). */
  summary(ownerId: string): Promise<StorySummary>;
  /** Writes the story with its image, and the summary as `stories`, if the summary is still at `version`. */
  saveStory(
    ownerId: string,
    story: StoryInfo,
    image: string,
    stories: readonly StoryInfo[],
    version: number,
  ): Promise<boolean>;
  /** Deletes the story (if there) and writes the summary as `stories`, if it is still at `version`. */
  deleteStory(
    ownerId: string,
    storyId: string,
    stories: readonly StoryInfo[],
    version: number,
  ): Promise<boolean>;
}

/** The viewers' side: the feed and the photos, with the relations that decide who sees them. */
export interface StoryFeed {
  /** The summaries of everyone `userId` follows (owners without stories may be left out). */
  followedStories(userId: string): Promise<OwnerStories[]>;
  photo(ownerId: string, storyId: string, viewerId: string): Promise<StoryPhotoView>;
}

/**
 * A media story's `image` in the store: `media:{mediaId}`. No inline image can start so (base64
 * has no `:`, and a data URL starts with `data:`).
 */
const MEDIA_IMAGE = 'media:';

/** What a story's media upload is attached to (lambdas/domain/media.ts). */
export const storyTarget = (ownerId: string, storyId: string) => `story#${ownerId}#${storyId}`;

const nextUlid = monotonicFactory();

/** A story id: a ULID, so ids sort by posting time (the feed's order and cursor). */
export function newStoryId(now: Date): string {
  return nextUlid(now.getTime());
}

function isActive(story: Pick<StoryInfo, 'expiresAt'>, now: Date): boolean {
  return Date.parse(story.expiresAt) > now.getTime();
}

/**
 * Posts a story with an inline `image`, or a `mediaId` uploaded for a story (attached to it, and
 * deleted with it: the media item expires with the story, the object by the bucket's lifecycle).
 * @param media the media uploads; without them a media story is refused
 */
export async function postStory(
  store: StoryStore,
  input: ClientToServer['postStory'],
  caller: ConnectedUser,
  media?: MediaDeps,
): Promise<ServerReplies['postStory']> {
  const { userId: ownerId, now } = caller;
  if (input.image !== undefined) checkImage(input.image, 'image');
  const story: StoryInfo = {
    storyId: newStoryId(now),
    createdAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + STORY_LIFETIME_MS).toISOString(),
    caption: input.caption,
  };
  let image = input.image ?? '';
  if (input.mediaId !== undefined) {
    if (media === undefined) throw new BadRequestError('Media stories are not available here');
    await attachMedia(
      media,
      input.mediaId,
      'story',
      storyTarget(ownerId, story.storyId),
      caller,
      new Date(story.expiresAt),
    );
    image = `${MEDIA_IMAGE}${input.mediaId}`;
  }
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt += 1) {
    const summary = await store.summary(ownerId);
    const active = summary.stories.filter((s) => isActive(s, now));
    if (active.length >= MAX_ACTIVE_STORIES) {
      const firstToExpire = Math.min(...active.map((s) => Date.parse(s.expiresAt)));
      throw new RateLimitedError(
        `You have ${MAX_ACTIVE_STORIES} active stories, the most Parley allows; delete one or wait until one expires`,
        Math.max(1, Math.ceil((firstToExpire - now.getTime()) / 1000)),
      );
    }
    // Expired entries are dropped from the summary whenever the owner writes it.
    if (await store.saveStory(ownerId, story, image, [story, ...active], summary.version)) {
      return { storyId: story.storyId, expiresAt: story.expiresAt };
    }
  }
  throw new ConflictError('Your stories changed while this one was posted; post it again');
}

/** Deletes one of the caller's stories. Idempotent: an unknown or expired id answers `{}` too. */
export async function deleteStory(
  store: StoryStore,
  input: ClientToServer['deleteStory'],
  caller: ConnectedUser,
): Promise<ServerReplies['deleteStory']> {
  const { userId: ownerId, now } = caller;
  for (let attempt = 1; attempt <= MAX_WRITE_ATTEMPTS; attempt += 1) {
    const summary = await store.summary(ownerId);
    const remaining = summary.stories.filter((s) => s.storyId !== input.storyId && isActive(s, now));
    if (await store.deleteStory(ownerId, input.storyId, remaining, summary.version)) return {};
  }
  throw new ConflictError('Your stories changed while this one was deleted; delete it again');
}

/**
 * The active stories of everyone the caller follows: all stories newest first, grouped by
 * owner (owners in the order of their newest story). A reply holds at most
 * `STORY_FEED_BUDGET_BYTES` of entries; `nextCursor` then asks for the older ones.
 */
export async function getFollowingStories(
  feed: StoryFeed,
  input: ClientToServer['getFollowingStories'],
  caller: ConnectedUser,
): Promise<ServerReplies['getFollowingStories']> {
  const { userId, now } = caller;
  const owners = await feed.followedStories(userId);
  const cursor = input.cursor;
  const all = owners
    .flatMap(({ ownerId, stories }) => stories.map((story) => ({ ownerId, story })))
    .filter(({ story }) => isActive(story, now) && (cursor === undefined || story.storyId < cursor))
    .sort((a, b) => (a.story.storyId < b.story.storyId ? 1 : a.story.storyId > b.story.storyId ? -1 : 0));

  const groups = new Map<string, StoryGroup>();
  let bytes = 0;
  let oldestIncluded: string | undefined;
  for (const { ownerId, story } of all) {
    const group = groups.get(ownerId);
    const size = Buffer.byteLength(JSON.stringify(story)) + (group ? 1 : Buffer.byteLength(ownerId) + 32);
    if (bytes + size > STORY_FEED_BUDGET_BYTES && oldestIncluded !== undefined) {
      return { stories: [...groups.values()], nextCursor: oldestIncluded };
    }
    bytes += size;
    oldestIncluded = story.storyId;
    if (group) group.items.push(story);
    else groups.set(ownerId, { ownerId, items: [story] });
  }
  return { stories: [...groups.values()] };
}

/** Whether `viewerId` may see the story now: its owner, or a follower with no block either way, before it expires. */
async function storyPhotoFor(
  feed: StoryFeed,
  ownerId: string,
  storyId: string,
  viewerId: string,
  now: Date,
): Promise<string | undefined> {
  const { story, viewerFollows, blocked } = await feed.photo(ownerId, storyId, viewerId);
  const mayView = viewerId === ownerId || (viewerFollows && !blocked);
  const expired = story === undefined || Date.parse(story.createdAt) + STORY_LIFETIME_MS <= now.getTime();
  return story === undefined || expired || !mayView ? undefined : story.image;
}

/**
 * A story's photo, for its owner and for the owner's followers who are not blocked; anyone
 * else, and any expired story, gets NOT_FOUND (the same answer as for a story that never was).
 * An inline story answers its `image`; a media story a download `url` (valid an hour).
 */
export async function getStoryPhoto(
  feed: StoryFeed,
  input: ClientToServer['getStoryPhoto'],
  caller: ConnectedUser,
  objects?: Pick<MediaObjects, 'presignDownload'>,
): Promise<ServerReplies['getStoryPhoto']> {
  const { userId: viewerId, now } = caller;
  const image = await storyPhotoFor(feed, input.ownerId, input.storyId, viewerId, now);
  if (image === undefined) throw new NotFoundError('There is no such story, or it has expired');
  if (!image.startsWith(MEDIA_IMAGE)) return { status: true, id: input.storyId, image };
  if (objects === undefined) throw new NotFoundError('There is no such story, or it has expired');
  const mediaId = image.slice(MEDIA_IMAGE.length);
  const url = await objects.presignDownload(
    mediaKey({ purpose: 'story', mediaId }),
    undefined,
    DOWNLOAD_URL_SECONDS,
  );
  return {
    status: true,
    id: input.storyId,
    url,
    expiresAt: new Date(now.getTime() + DOWNLOAD_URL_SECONDS * 1000).toISOString(),
  };
}

/** The viewers of a story's media: those `getStoryPhoto` answers. */
export async function mayViewStoryMedia(
  feed: StoryFeed,
  attachedTo: string,
  viewerId: string,
  now: Date,
): Promise<boolean> {
  const [, ownerId, storyId] = attachedTo.split('#');
  if (ownerId === undefined || storyId === undefined || attachedTo !== storyTarget(ownerId, storyId))
    return false;
  return (await storyPhotoFor(feed, ownerId, storyId, viewerId, now)) !== undefined;
}
