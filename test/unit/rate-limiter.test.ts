import { describe, expect, it } from 'vitest';
import { parseRateLimit, TokenBuckets } from '../../lambdas/shared/rate-limiter.ts';

describe('token buckets', () => {
  it('allow a burst, then a steady rate, and say how long to wait', () => {
    const buckets = new TokenBuckets({ burst: 3, perSecond: 2 });
    const t = 1_000_000;
    expect([0, 0, 0].map(() => buckets.take('alice', t))).toEqual([0, 0, 0]);
    expect(buckets.take('alice', t)).toBe(500);
    // A refused request takes nothing: half a second later one more goes through.
    expect(buckets.take('alice', t + 500)).toBe(0);
    expect(buckets.take('alice', t + 500)).toBe(500);
    // Two seconds of quiet refill the whole burst, never more.
    expect([0, 0, 0, 0].map(() => buckets.take('alice', t + 10_000))).toEqual([0, 0, 0, 500]);
  });

  it('keep users apart, and forget the least recently used beyond their capacity', () => {
    const buckets = new TokenBuckets({ burst: 1, perSecond: 1 }, 2);
    expect(buckets.take('alice', 0)).toBe(0);
    expect(buckets.take('bob', 0)).toBe(0);
    expect(buckets.take('alice', 0)).toBe(1000);
    expect(buckets.take('carol', 0)).toBe(0); // bob, least recently used, is forgotten
    expect(buckets.take('bob', 0)).toBe(0);
  });

  it('parse "{burst}/{perSecond}" and refuse anything else', () => {
    expect(parseRateLimit('100/50', 'X')).toEqual({ burst: 100, perSecond: 50 });
    expect(parseRateLimit(' 10 / 0.5 ', 'X')).toEqual({ burst: 10, perSecond: 0.5 });
    for (const bad of ['', '100', '0/5', '5/0', 'a/b', '-1/2']) {
      expect(() => parseRateLimit(bad, 'USER_RATE_LIMIT')).toThrow(/USER_RATE_LIMIT must look like/);
    }
  });
});

describe('the HTTP wrapper', () => {
  it('answers 429 with Retry-After past a client’s burst, per source IP, counting only well-formed requests', async () => {
    const { httpRoute } = await import('../../lambdas/shared/http-route.ts');
    const handler = httpRoute('resend', async () => ({ codeSent: true as const }));
    const event = (sourceIp: string, body: string) =>
      ({
        body,
        isBase64Encoded: false,
        headers: {},
        requestContext: { http: { sourceIp } },
      }) as never;
    for (let i = 0; i < 60; i += 1)
      expect((await handler(event('198.51.100.1', '{"email":'))).statusCode).toBe(400);
    const good = '{"email":"a@example.com"}';
    for (let i = 0; i < 50; i += 1) expect((await handler(event('198.51.100.1', good))).statusCode).toBe(202);
    const limited = await handler(event('198.51.100.1', good));
    expect(limited.statusCode).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(JSON.parse(limited.body).error.code).toBe('RATE_LIMITED');
    expect((await handler(event('198.51.100.2', good))).statusCode).toBe(202);
  });
});
