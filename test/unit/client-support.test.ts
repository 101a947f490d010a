/** The client's pure helpers: ULIDs, the backoff, a token's expiry. */
import { decodeTime, ulid as reference } from 'ulid';
import { describe, expect, it } from 'vitest';
import { backoffDelay, isUlid, tokenExpiry, ulid } from '../../client/index.ts';

describe('ulid', () => {
  it('is 26 characters of Crockford base32 whose first 10 encode the time', () => {
    const id = ulid(1_700_000_000_000);
    expect(isUlid(id)).toBe(true);
    // As the reference implementation (the server's `ulid` package) encodes and reads it.
    expect(id.slice(0, 10)).toBe(reference(1_700_000_000_000).slice(0, 10));
    expect(decodeTime(id)).toBe(1_700_000_000_000);
    expect(new Set(Array.from({ length: 1000 }, () => ulid())).size).toBe(1000);
  });

  it('sorts by time', () => {
    const earlier = ulid(1_700_000_000_000);
    const later = ulid(1_700_000_000_001);
    expect(earlier < later).toBe(true);
  });

  it('refuses a time a ULID cannot hold', () => {
    expect(() => ulid(-1)).toThrow(RangeError);
    expect(() => ulid(2 ** 48)).toThrow(RangeError);
    expect(isUlid('8ZZZZZZZZZZZZZZZZZZZZZZZZZ')).toBe(false);
    expect(isUlid('01HF3PC000OOOOOOOOOOOOOOOO')).toBe(false); // O is not Crockford
  });
});

describe('backoffDelay', () => {
  it('is full jitter under a ceiling that doubles up to the cap', () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000 };
    expect([1, 2, 3, 4, 5, 10].map((n) => backoffDelay(n, options, () => 0.999999))).toEqual([
      99, 199, 399, 799, 999, 999,
    ]);
    expect(backoffDelay(7, options, () => 0)).toBe(0);
    expect(backoffDelay(1_000, options, () => 0.5)).toBe(500);
  });
});

describe('tokenExpiry', () => {
  const jwt = (payload: object) =>
    `e30.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.signature`;

  it('reads exp, in milliseconds', () => {
    expect(tokenExpiry(jwt({ sub: 'ann', exp: 1_700_000_000 }))).toBe(1_700_000_000_000);
  });

  it('is undefined for a token without exp, or no JWT', () => {
    expect(tokenExpiry(jwt({ sub: 'ann' }))).toBeUndefined();
    expect(tokenExpiry('not-a-token')).toBeUndefined();
    expect(tokenExpiry('a.%%%.c')).toBeUndefined();
  });
});
