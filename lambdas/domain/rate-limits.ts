/**
 * Sliding-window limits over recorded events: mails per address (one a minute, five an hour)
 * and failed logins per address (100 an hour). Pure functions; the stores keep the events.
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

export const LOGIN_FAILURE_LIMITS: readonly SlidingWindow[] = [{ max: 100, windowMs: 60 * 60_000 }];

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

// Failed logins: per-minute counters. Each counts as if all its failures came at the end of
// its minute, so a window never holds more than the limit.

const MINUTE_MS = 60_000;

export function minuteOf(nowMs: number): number {
  return Math.floor(nowMs / MINUTE_MS);
}

function occurrencesOf(failures: Readonly<Record<number, number>>): Occurrence[] {
  return Object.entries(failures).map(([minute, count]) => ({
    atMs: (Number(minute) + 1) * MINUTE_MS - 1,
    count,
  }));
}

export function loginRetryAfter(failures: Readonly<Record<number, number>>, nowMs: number): number {
  return retryAfterSeconds(occurrencesOf(failures), LOGIN_FAILURE_LIMITS, nowMs);
}

/** The minutes that no longer count in any window and can be dropped. */
export function staleMinutes(failures: Readonly<Record<number, number>>, nowMs: number): number[] {
  const longest = Math.max(...LOGIN_FAILURE_LIMITS.map((w) => w.windowMs));
  return Object.keys(failures)
    .map(Number)
    .filter((minute) => (minute + 1) * MINUTE_MS - 1 <= nowMs - longest);
}
