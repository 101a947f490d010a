/**
 * Sliding-window limits over recorded events (mails per address: one a minute, five an hour)
 * and the backoff of failed logins. Pure functions; the stores keep the events.
 */

export interface SlidingWindow {
  /** At most this many events ... */
  readonly max: number;
  /** ... within any window of this length. */
  readonly windowMs: number;
}

/** `count` events at `atMs` (a stored bucket counts as one entry). */
export interface Occurrence {
  readonly atMs: number;
  readonly count: number;
}

export const MAIL_LIMITS: readonly SlidingWindow[] = [
  { max: 1, windowMs: 60_000 },
  { max: 5, windowMs: 60 * 60_000 },
];

/**
 * Seconds until one more event is allowed under every window, or 0 when it is allowed now.
 * An event allowed now keeps every window at or under its `max`.
 */
export function retryAfterSeconds(
  events: readonly Occurrence[],
  windows: readonly SlidingWindow[],
  nowMs: number,
): number {
  let waitMs = 0;
  for (const { max, windowMs } of windows) {
    const newestFirst = events.filter((e) => e.atMs > nowMs - windowMs).sort((a, b) => b.atMs - a.atMs);
    let total = 0;
    for (const event of newestFirst) {
      total += event.count;
      // Once this event leaves the window, fewer than `max` remain in it.
      if (total >= max) {
        waitMs = Math.max(waitMs, event.atMs + windowMs - nowMs);
        break;
      }
    }
  }
  return Math.ceil(waitMs / 1000);
}

// Mail log: the send times themselves (at most 5, the last hour's).

/** The mail log after one more send at `nowMs`: the last hour's sends, at most as many as the hourly limit. */
export function withSend(sentAt: readonly number[], nowMs: number): number[] {
  const longest = Math.max(...MAIL_LIMITS.map((w) => w.windowMs));
  const keep = Math.max(...MAIL_LIMITS.map((w) => w.max));
  return [...sentAt.filter((at) => at > nowMs - longest), nowMs].slice(-keep);
}

export function mailRetryAfter(sentAt: readonly number[], nowMs: number): number {
  return retryAfterSeconds(
    sentAt.map((atMs) => ({ atMs, count: 1 })),
    MAIL_LIMITS,
    nowMs,
  );
}

// Failed logins: a growing wait between tries, per address and per address and client
// (domain/accounts.ts, `login`). Never a fixed lock: the longest wait is a few minutes for one
// client and half a minute for an address, so an attacker slows the owner down at most that much.

export interface LoginBackoff {
  /** Failures allowed before any wait. */
  readonly freeFailures: number;
  /** The wait after the first failure past the free ones; it doubles with each further failure. */
  readonly firstWaitMs: number;
  readonly maxWaitMs: number;
}

/** One client (an IP address) trying one address: 5 free tries, then 1 s, 2 s, 4 s, … up to 15 minutes. */
export const CLIENT_LOGIN_BACKOFF: LoginBackoff = {
  freeFailures: 5,
  firstWaitMs: 1_000,
  maxWaitMs: 15 * 60_000,
};

/** Every client together, on one address: 50 free tries, then 1 s, 2 s, … up to 30 s. */
export const ADDRESS_LOGIN_BACKOFF: LoginBackoff = {
  freeFailures: 50,
  firstWaitMs: 1_000,
  maxWaitMs: 30_000,
};

/** Failure counters are forgotten this long after their last failure. */
export const LOGIN_FAILURE_MEMORY_MS = 60 * 60_000;

/** How long to wait after the last of `failures` consecutive failures before the next try. */
export function loginWaitMs(failures: number, backoff: LoginBackoff): number {
  const over = failures - backoff.freeFailures;
  if (over <= 0) return 0;
  return Math.min(backoff.firstWaitMs * 2 ** Math.min(over - 1, 30), backoff.maxWaitMs);
}
