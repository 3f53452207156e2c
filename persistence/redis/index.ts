/**
 * persistence/redis/: state shared by gateway processes (rate limits, an
 * idempotency pre-check, the leaderboard), in Redis when REDIS_URL is set and
 * in-process otherwise (one process: the embedded default).
 */
import type { Redis } from 'ioredis';
import { connectRedis } from './errors.js';
import { MemoryIdempotencyPrecheck, RedisIdempotencyPrecheck, type IdempotencyPrecheck } from './idempotency-precheck.js';
import { MemoryLeaderboard, RedisLeaderboard, type Leaderboard } from './leaderboard.js';
import { MemoryRateLimiter, RedisRateLimiter, type RateLimiter, type RateLimiterOptions } from './rate-limiter.js';

export { connectRedis, redisCall, SharedStateUnavailableError } from './errors.js';
export type { ConnectRedisOptions } from './errors.js';
export { MemoryIdempotencyPrecheck, RedisIdempotencyPrecheck } from './idempotency-precheck.js';
export type { ClaimResult, IdempotencyPrecheck } from './idempotency-precheck.js';
export { MemoryLeaderboard, RedisLeaderboard } from './leaderboard.js';
export type { Leaderboard, LeaderboardEntry, RankedEntry } from './leaderboard.js';
export { MemoryRateLimiter, RedisRateLimiter } from './rate-limiter.js';
export type { RateLimiter, RateLimiterOptions, RateLimitResult } from './rate-limiter.js';

export interface SharedStateOptions {
  /**
   * Redis to share state through, e.g. `process.env.REDIS_URL`. Absent or
   * empty: in-process state, private to this process.
   */
  redisUrl?: string;
  /**
   * Current time in epoch milliseconds (rate-limit windows, in-process expiry).
   * @default Date.now
   */
  clock?: () => number;
  /**
   * Prefix of every Redis key, so several deployments can share one Redis.
   * @default 'vatic:'
   */
  keyPrefix?: string;
  /** Rate-limit budget; see {@link RateLimiterOptions} for defaults. */
  rateLimit?: Omit<RateLimiterOptions, 'clock'>;
  /**
   * Time allowed for the first Redis connection.
   * @default 2000
   */
  connectTimeoutMs?: number;
}

export interface SharedState {
  /** Which implementation was picked. */
  readonly kind: 'redis' | 'in-process';
  readonly rateLimiter: RateLimiter;
  /** Another limiter with its own budget, on the same backend (and Redis connection): e.g. the gateway's per-trader frames. */
  limiter(options: Omit<RateLimiterOptions, 'clock'> & { keyPrefix?: string }): RateLimiter;
  readonly idempotency: IdempotencyPrecheck;
  readonly leaderboard: Leaderboard;
  /** Release the Redis connection (no-op in-process). */
  close(): Promise<void>;
}

/**
 * Shared state backed by Redis when `redisUrl` is given, else in-process.
 * Connects eagerly: an unreachable Redis rejects at once with
 * {@link SharedStateUnavailableError} (`code: 'SHARED_STATE_UNAVAILABLE'`),
 * never a hang or a silent fallback.
 */
export async function createSharedState(options: SharedStateOptions = {}): Promise<SharedState> {
  const clock = options.clock ?? Date.now;
  if (!options.redisUrl) {
    return {
      kind: 'in-process',
      rateLimiter: new MemoryRateLimiter({ ...options.rateLimit, clock }),
      limiter: (o) => new MemoryRateLimiter({ ...o, clock }),
      idempotency: new MemoryIdempotencyPrecheck(clock),
      leaderboard: new MemoryLeaderboard(),
      close: async () => {},
    };
  }
  const redis: Redis = await connectRedis(options.redisUrl, { connectTimeoutMs: options.connectTimeoutMs ?? 2_000 });
  const keyPrefix = options.keyPrefix ?? 'vatic:';
  return {
    kind: 'redis',
    rateLimiter: new RedisRateLimiter(redis, { ...options.rateLimit, clock, keyPrefix }),
    limiter: (o) => new RedisRateLimiter(redis, { ...o, clock, keyPrefix: o.keyPrefix ?? keyPrefix }),
    idempotency: new RedisIdempotencyPrecheck(redis, { keyPrefix }),
    leaderboard: new RedisLeaderboard(redis, { keyPrefix }),
    close: async () => {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
