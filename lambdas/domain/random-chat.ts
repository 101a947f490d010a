/**
 * Random-stranger chat (the second seed's `random`): `joinRandom` pairs the caller with the
 * user waiting for a stranger, or makes the caller that user; `leaveRandom` (or closing the
 * connection that joined) ends it. A pair is two users who may message each other (messaging
 * needs no follow; blocks still apply, and blocked users are never paired).
 *
 * Race-free by construction: at most one user waits at any time, in a single slot. Taking
 * the empty slot, and emptying it to pair with its user, are each one transaction with
 * conditions on the slot and on both users' sessions, so concurrent joiners cannot pair a
 * user twice, cannot both wait, and a user has at most one session (waiting or paired). A
 * joiner that loses a race reads again and retries.
 *
 * A session lasts as long as its connection could (API Gateway's 2 h + slack): a session past
 * `expiresAt` is over even if its `$disconnect` never came, and a stale waiter is replaced.
 */
import type { ClientToServer, ServerReplies } from '../../protocol/index.ts';
import { ConflictError, RateLimitedError } from '../shared/errors.ts';
import type { ConnectedUser } from './caller.ts';
import { exceptCaller, type PushDeps, pushEvent } from './delivery.ts';
import { CONNECTION_LIFETIME_MS, CONNECTION_SLACK_MS } from './presence.ts';

/** A user's random chat, joined (or matched) on `connectionId`. */
export interface RandomSession {
  readonly userId: string;
  readonly state: 'waiting' | 'paired';
  readonly partnerId?: string;
  readonly connectionId: string;
  /** Epoch seconds after which the session is over (its connection cannot be open any more). */
  readonly expiresAt: number;
}

/** The user in the waiting slot. */
export interface WaitingSlot {
  readonly userId: string;
  readonly connectionId: string;
  readonly expiresAt: number;
}

export interface RandomSnapshot {
  readonly session?: RandomSession;
  readonly waiting?: WaitingSlot;
}

export interface RandomStore {
  /** The user's session and the waiting slot, in one strongly consistent read. */
  snapshot(userId: string): Promise<RandomSnapshot>;
  /**
   * Puts `session` (waiting) in the empty slot, or in place of `stale`, atomically with the
   * session itself (the user must have none that is live). False when either changed first.
   */
  enqueue(session: RandomSession, stale: WaitingSlot | undefined, nowSeconds: number): Promise<boolean>;
  /**
   * Empties the slot `waiting` holds and pairs both sessions, atomically, unless a block
   * stands between the two users. `retry` when the slot or either session changed first.
   */
  pair(
    session: RandomSession,
    waiting: WaitingSlot,
    nowSeconds: number,
  ): Promise<'paired' | 'blocked' | 'retry'>;
  /** Ends `session` (with the slot it holds, or the partner's session) if it is still as read. */
  end(session: RandomSession, holdsSlot: boolean): Promise<boolean>;
}

export interface RandomChatDeps extends PushDeps {
  readonly random: RandomStore;
}

/**
 * How often a joiner that lost a race tries again. Each round of contention pairs or queues
 * one user, so 50 simultaneous joiners need about 50 rounds; the backoff spreads them out.
 */
export const MAX_JOIN_ATTEMPTS = 60;
const MAX_END_ATTEMPTS = 5;

const pause = (attempt: number) =>
  new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(200, 5 * 2 ** Math.min(attempt, 6))));

function sessionExpiry(now: Date): number {
  return Math.floor((now.getTime() + CONNECTION_LIFETIME_MS + CONNECTION_SLACK_MS) / 1000);
}

function stateOf(session: RandomSession): ServerReplies['joinRandom'] {
  return session.state === 'paired' && session.partnerId !== undefined
    ? { status: 'matched', partnerId: session.partnerId }
    : { status: 'waiting' };
}

/**
 * Pairs the caller with the waiting stranger (both get `randomMatched` on every device) or
 * makes the caller wait for one. A user already in a random chat gets its state back
 * (idempotent: `leaveRandom` first for a new stranger).
 */
export async function joinRandom(
  deps: RandomChatDeps,
  _input: ClientToServer['joinRandom'],
  caller: ConnectedUser,
): Promise<ServerReplies['joinRandom']> {
  const { userId, connectionId, now } = caller;
  const nowSeconds = Math.floor(now.getTime() / 1000);
  const expiresAt = sessionExpiry(now);
  for (let attempt = 1; attempt <= MAX_JOIN_ATTEMPTS; attempt += 1) {
    const { session, waiting } = await deps.random.snapshot(userId);
    if (session !== undefined && session.expiresAt > nowSeconds) return stateOf(session);
    const live = waiting !== undefined && waiting.expiresAt > nowSeconds ? waiting : undefined;
    if (live !== undefined && live.userId !== userId) {
      const paired: RandomSession = {
        userId,
        state: 'paired',
        partnerId: live.userId,
        connectionId,
        expiresAt,
      };
      const outcome = await deps.random.pair(paired, live, nowSeconds);
      if (outcome === 'paired') {
        await notify(deps, userId, live.userId, 'randomMatched', now);
        return { status: 'matched', partnerId: live.userId };
      }
      if (outcome === 'blocked') {
        throw new ConflictError('No stranger is free for you right now; try joinRandom again in a moment');
      }
    } else {
      const queued: RandomSession = { userId, state: 'waiting', connectionId, expiresAt };
      if (await deps.random.enqueue(queued, waiting, nowSeconds)) return { status: 'waiting' };
    }
    await pause(attempt);
  }
  throw new RateLimitedError('Many people are joining random chat right now; try again in a moment', 1);
}

/**
 * Ends the caller's random chat, waiting or paired, from any of their devices; the partner's
 * devices and the caller's other devices get `randomEnded`. Idempotent.
 */
export async function leaveRandom(
  deps: RandomChatDeps,
  _input: ClientToServer['leaveRandom'],
  caller: ConnectedUser,
): Promise<ServerReplies['leaveRandom']> {
  await endSession(deps, caller.userId, { notifyExcept: caller.connectionId }, caller.now);
  return {};
}

/** `$disconnect` of the connection that holds the user's random chat: the chat ends with it. */
export async function endRandomChatOf(
  deps: RandomChatDeps,
  _input: Record<string, never>,
  caller: ConnectedUser,
): Promise<void> {
  const { userId, connectionId, now } = caller;
  await endSession(deps, userId, { onlyOn: connectionId, notifyExcept: connectionId }, now);
}

async function endSession(
  deps: RandomChatDeps,
  userId: string,
  options: { onlyOn?: string; notifyExcept: string },
  now: Date,
) {
  for (let attempt = 1; attempt <= MAX_END_ATTEMPTS; attempt += 1) {
    const { session, waiting } = await deps.random.snapshot(userId);
    if (session === undefined) return;
    if (options.onlyOn !== undefined && session.connectionId !== options.onlyOn) return;
    const holdsSlot = waiting?.userId === userId && waiting.connectionId === session.connectionId;
    if (await deps.random.end(session, holdsSlot)) {
      if (session.state === 'paired' && session.partnerId !== undefined) {
        await notify(deps, userId, session.partnerId, 'randomEnded', now, options.notifyExcept);
      }
      return;
    }
    await pause(attempt);
  }
  throw new ConflictError('Your random chat changed while it was ended; try leaveRandom again');
}

/**
 * Tells every device of both users (except `skipConnectionId`, which is closing) who their
 * partner is: one presence read, then one post per device.
 */
async function notify(
  deps: PushDeps,
  userId: string,
  partnerId: string,
  event: 'randomMatched' | 'randomEnded',
  now: Date,
  skipConnectionId?: string,
) {
  const connections = exceptCaller(await deps.targets.of([userId, partnerId], now), skipConnectionId);
  await Promise.all([
    pushEvent(
      deps,
      connections.filter((c) => c.userId === partnerId),
      { event, data: { partnerId: userId } },
    ),
    pushEvent(
      deps,
      connections.filter((c) => c.userId === userId),
      { event, data: { partnerId } },
    ),
  ]);
}
