/**
 * Follows and blocks between users (the first seed's `following` and `block` lists).
 *
 * - Following is one-way and idempotent: following again keeps the first `since`.
 * - A block severs the relation: it removes the follows in both directions (so the blocked
 *   user's story feed drops the blocker at once, and the blocker's drops them), and while
 *   it stands neither user can follow the other. Unblocking restores no follow.
 * - Both are capped (`MAX_FOLLOWING`, `MAX_BLOCKS`), because copies of them live on the
 *   user's presence item, which `getLastSeen` reads for 100 users at once.
 */

import type { ClientToServer, FollowedUser, ServerReplies } from '../../protocol/index.ts';
import { MAX_FOLLOWING_PAGE_SIZE } from '../../protocol/limits.ts';
import { BadRequestError, ConflictError, ForbiddenError, NotFoundError } from '../shared/errors.ts';
import type { ConnectedUser } from './caller.ts';

/** The most users one user may follow. */
export const MAX_FOLLOWING = 1000;
/** The most users one user may block. */
export const MAX_BLOCKS = 1000;

/**
 * `no-such-user`; `blocked-by-them`: the other user blocks the caller; `blocking-them`: the
 * caller blocks the other user; `limit-reached`: the caller follows `MAX_FOLLOWING` users.
 */
export type FollowOutcome =
  | 'followed'
  | 'no-such-user'
  | 'blocked-by-them'
  | 'blocking-them'
  | 'limit-reached';
export type BlockOutcome = 'blocked' | 'no-such-user' | 'limit-reached';

export interface FollowingPage {
  readonly following: FollowedUser[];
  readonly nextCursor?: string;
}

export interface RelationStore {
  /** Follows `otherId` atomically with its checks (the user exists, no block either way, the cap). Idempotent. */
  follow(userId: string, otherId: string, since: Date, maxFollowing: number): Promise<FollowOutcome>;
  /** Idempotent. */
  unfollow(userId: string, otherId: string): Promise<void>;
  /** Whom `userId` follows, by user id, after `after`. */
  following(userId: string, limit: number, after?: string): Promise<FollowingPage>;
  /** Blocks `otherId` and removes the follows both ways, atomically. Idempotent (keeps the first `since`). */
  block(userId: string, otherId: string, since: Date, maxBlocks: number): Promise<BlockOutcome>;
  /** Removes the caller's block (not one the other user set). Idempotent. */
  unblock(userId: string, otherId: string): Promise<void>;
}

function notYourself(userId: string, otherId: string, verb: string) {
  if (otherId === userId) throw new BadRequestError(`You cannot ${verb} yourself`);
}

export async function follow(
  store: RelationStore,
  input: ClientToServer['follow'],
  caller: ConnectedUser,
): Promise<ServerReplies['follow']> {
  const { userId, now } = caller;
  notYourself(userId, input.userId, 'follow');
  const outcome = await store.follow(userId, input.userId, now, MAX_FOLLOWING);
  switch (outcome) {
    case 'no-such-user':
      throw new NotFoundError(`There is no user "${input.userId}"`);
    case 'blocked-by-them':
      throw new ForbiddenError('You cannot follow this user');
    case 'blocking-them':
      throw new ForbiddenError('You block this user; unblock them before following them');
    case 'limit-reached':
      throw new ConflictError(
        `You follow ${MAX_FOLLOWING} users, the most Parley allows; unfollow someone first`,
      );
    case 'followed':
      return {};
  }
}

export async function unfollow(
  store: RelationStore,
  input: ClientToServer['unfollow'],
  caller: ConnectedUser,
): Promise<ServerReplies['unfollow']> {
  const { userId } = caller;
  notYourself(userId, input.userId, 'unfollow');
  await store.unfollow(userId, input.userId);
  return {};
}

/** Whom the caller follows and since when, by user id, a page at a time. */
export async function getFollowing(
  store: RelationStore,
  input: ClientToServer['getFollowing'],
  caller: ConnectedUser,
): Promise<ServerReplies['getFollowing']> {
  const { userId } = caller;
  const page = await store.following(userId, input.limit ?? MAX_FOLLOWING_PAGE_SIZE, input.cursor);
  return page.nextCursor === undefined
    ? { following: page.following }
    : { following: page.following, nextCursor: page.nextCursor };
}

/**
 * While either user blocks the other, neither can message or follow the other, and the
 * blocked user sees no profile, last seen or stories of the blocker. Idempotent.
 */
export async function block(
  store: RelationStore,
  input: ClientToServer['block'],
  caller: ConnectedUser,
): Promise<ServerReplies['block']> {
  const { userId, now } = caller;
  notYourself(userId, input.userId, 'block');
  const outcome = await store.block(userId, input.userId, now, MAX_BLOCKS);
  if (outcome === 'no-such-user') throw new NotFoundError(`There is no user "${input.userId}"`);
  if (outcome === 'limit-reached') {
    throw new ConflictError(`You block ${MAX_BLOCKS} users, the most Parley allows; unblock someone first`);
  }
  return {};
}

/** Removes the caller's block; a block the other user set stays. Idempotent. */
export async function unblock(
  store: RelationStore,
  input: ClientToServer['unblock'],
  caller: ConnectedUser,
): Promise<ServerReplies['unblock']> {
  const { userId } = caller;
  notYourself(userId, input.userId, 'unblock');
  await store.unblock(userId, input.userId);
  return {};
}
