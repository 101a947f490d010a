import { describe, expect, it } from 'vitest';
import {
  ADDRESS_LOGIN_BACKOFF,
  CLIENT_LOGIN_BACKOFF,
  loginWaitMs,
  mailRetryAfter,
  retryAfterSeconds,
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

  it('failed logins from one client: 5 free, then a wait that doubles, up to 15 minutes', () => {
    expect([0, 1, 5].map((n) => loginWaitMs(n, CLIENT_LOGIN_BACKOFF))).toEqual([0, 0, 0]);
    expect([6, 7, 8, 10].map((n) => loginWaitMs(n, CLIENT_LOGIN_BACKOFF))).toEqual([
      1000, 2000, 4000, 16_000,
    ]);
    expect(loginWaitMs(20, CLIENT_LOGIN_BACKOFF)).toBe(15 * 60_000);
    expect(loginWaitMs(10_000, CLIENT_LOGIN_BACKOFF)).toBe(15 * 60_000);
  });

  it('failed logins on an address from every client: 50 free, then never more than 30 s between tries', () => {
    expect(loginWaitMs(50, ADDRESS_LOGIN_BACKOFF)).toBe(0);
    expect(loginWaitMs(51, ADDRESS_LOGIN_BACKOFF)).toBe(1000);
    expect(loginWaitMs(1_000_000, ADDRESS_LOGIN_BACKOFF)).toBe(30_000);
  });
});
