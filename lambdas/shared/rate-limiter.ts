/**
 * Per-user rate limits (docs/architecture.md, "Rate limits"): a token bucket per key (user id,
 * or source IP before sign-in) in the memory of the function's container, so a limited request
 * costs no DynamoDB request at all and an allowed one a map lookup. Each route's function keeps
 * its own buckets. A user whose requests land on several containers at once gets each one's
 * allowance; API Gateway's per-route throttles cap what all of them take together.
 */
import { requireEnv } from './env.ts';

export interface RateLimit {
  /** Requests allowed at once. */
  readonly burst: number;
  /** Requests a second, steadily, after the burst. */
  readonly perSecond: number;
}

/** Per user and route: bursts of 100, then 50 a second (no person types or taps that fast). */
export const DEFAULT_USER_RATE_LIMIT: RateLimit = { burst: 100, perSecond: 50 };
/** Per source IP and `/auth/*` endpoint, counting only well-formed requests: bursts of 50, then 10 a second. */
export const DEFAULT_CLIENT_RATE_LIMIT: RateLimit = { burst: 50, perSecond: 10 };

/** Parses `"{burst}/{perSecond}"`, e.g. `100/50`. */
export function parseRateLimit(text: string, name: string): RateLimit {
  const match = /^\s*(\d+)\s*\/\s*(\d+(?:\.\d+)?)\s*$/.exec(text);
  const burst = Number(match?.[1]);
  const perSecond = Number(match?.[2]);
  if (match === null || !(burst >= 1) || !(perSecond > 0)) {
    throw new Error(`${name} must look like "{burst}/{perSecond}", e.g. "100/50"; got "${text}"`);
  }
  return { burst, perSecond };
}

/** The limit in environment variable `name` when it is set, else `fallback`. */
export function rateLimitFromEnv(name: string, fallback: RateLimit): RateLimit {
  return process.env[name] === undefined ? fallback : parseRateLimit(requireEnv(name), name);
}

interface Bucket {
  tokens: number;
  atMs: number;
}

/** Token buckets by key, at most `maxKeys` of them (the least recently used go first). */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly maxKeys = 10_000,
  ) {}

  /** Takes one token for `key`: 0 when the request may go ahead, else the milliseconds until it may. */
  take(key: string, nowMs: number): number {
    const { burst, perSecond } = this.limit;
    const bucket = this.buckets.get(key) ?? { tokens: burst, atMs: nowMs };
    this.buckets.delete(key); // re-inserted below: the map's order is least recently used first
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, nowMs - bucket.atMs) * perSecond) / 1000);
    bucket.atMs = nowMs;
    let waitMs = 0;
    if (bucket.tokens >= 1) bucket.tokens -= 1;
    else waitMs = Math.ceil(((1 - bucket.tokens) * 1000) / perSecond);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    return waitMs;
  }
}
