/**
 * A per-token rate limit: one token bucket per API token, in this process's memory. A bucket
 * holds up to `burst` requests and refills at `perSecond`; a request that finds it empty is
 * refused with the seconds until one request is allowed again (the `Retry-After` value).
 *
 * With several API replicas each enforces the limit on its own, so a token's effective limit is
 * the per-process limit times the replicas its requests are spread over.
 */

/** Options of {@link createRateLimiter}. */
export interface RateLimiterOptions {
  /** Requests per second on average; 0 turns the limit off. */
  readonly perSecond: number;
  /** Requests allowed at once above the average. */
  readonly burst: number;
  /** Milliseconds clock; default `performance.now`. */
  readonly now?: () => number;
  /** Buckets kept before idle ones are forgotten; default 10,000. */
  readonly maxBuckets?: number;
}

/** The outcome of {@link RateLimiter.take}. */
export type RateDecision = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

/** A per-key token-bucket rate limiter. */
export interface RateLimiter {
  /** Takes one request from `key`'s bucket. */
  take(key: string): RateDecision;
  /** Gives back a request taken from `key`'s bucket (one that turned out not to count). */
  refund(key: string): void;
}

interface Bucket {
  tokens: number;
  at: number;
}

const ALLOWED: RateDecision = Object.freeze({ allowed: true });

/** Builds a limiter; see the module doc. */
export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const now = opts.now ?? (() => performance.now());
  const maxBuckets = opts.maxBuckets ?? 10_000;
  const perMs = opts.perSecond / 1000;
  const buckets = new Map<string, Bucket>();

  const forgetFull = (at: number) => {
    for (const [key, b] of buckets) {
      if (b.tokens + (at - b.at) * perMs >= opts.burst) buckets.delete(key);
    }
  };

  return {
    take(key) {
      if (opts.perSecond <= 0) return ALLOWED;
      const at = now();
      let bucket = buckets.get(key);
      if (!bucket) {
        if (buckets.size >= maxBuckets) forgetFull(at);
        bucket = { tokens: opts.burst, at };
        buckets.set(key, bucket);
      }
      bucket.tokens = Math.min(opts.burst, bucket.tokens + (at - bucket.at) * perMs);
      bucket.at = at;
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return ALLOWED;
      }
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)) };
    },
    refund(key) {
      const bucket = buckets.get(key);
      if (bucket) bucket.tokens = Math.min(opts.burst, bucket.tokens + 1);
    },
  };
}
