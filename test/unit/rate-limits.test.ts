import { describe, expect, it } from 'vitest';
import {
  loginRetryAfter,
  mailRetryAfter,
  minuteOf,
  retryAfterSeconds,
  staleMinutes,
  withSend,
} from '../../lambdas/domain/rate-limits.ts';

const now = Date.parse('2026-11-22T10:00:00Z');
const minutes = (n: number) => n * 60_000;

describe('sliding-window limits', () => {
  it('allow an event when every window has room', () => {
    expect(retryAfterSeconds([], [{ max: 1, windowMs: 1000 }], now)).toBe(0);
    expect(retryAfterSeconds([{ atMs: now - 1000, count: 1 }], [{ max: 1, windowMs: 1000 }], now)).toBe(0);
  });

  it('say how long to wait until the oldest event that matters leaves its window', () => {
    const events = [now - 10_000, now - 20_000, now - 30_000].map((atMs) => ({ atMs, count: 1 }));
    expect(retryAfterSeconds(events, [{ max: 3, windowMs: 60_000 }], now)).toBe(30);
    expect(retryAfterSeconds(events, [{ max: 2, windowMs: 60_000 }], now)).toBe(40);
  });

  it('mails: one a minute and five an hour', () => {
    expect(mailRetryAfter([now - 45_000], now)).toBe(15);
    const five = [50, 40, 30, 20, 10].map((m) => now - minutes(m));
    expect(mailRetryAfter(five, now)).toBe(10 * 60);
    expect(mailRetryAfter(five.slice(1), now)).toBe(0);
  });

  it('the mail log keeps only the last hour, at most five sends', () => {
    const log = [70, 50, 40, 30, 20, 10].map((m) => now - minutes(m));
    expect(withSend(log, now)).toEqual([40, 30, 20, 10].map((m) => now - minutes(m)).concat(now));
  });

  it('failed logins: at most 100 in any hour, counted per minute as late as possible', () => {
    const minute = minuteOf(now);
    expect(loginRetryAfter({ [minute - 10]: 99 }, now)).toBe(0);
    const wait = loginRetryAfter({ [minute - 10]: 60, [minute - 5]: 40 }, now);
    // The first bucket ends 9 minutes ago, so it leaves the window in 51 minutes.
    expect(wait).toBe(51 * 60);
    expect(loginRetryAfter({ [minute - 10]: 60, [minute - 5]: 40 }, now + wait * 1000)).toBe(0);
  });

  it('failed-login minutes that no hour-long window ending now can reach are stale', () => {
    const minute = minuteOf(now);
    // Minute −60 still counts: its failures are taken as coming at its very end.
    expect(staleMinutes({ [minute - 61]: 1, [minute - 60]: 1, [minute - 59]: 1, [minute]: 1 }, now)).toEqual([
      minute - 61,
    ]);
  });
});
