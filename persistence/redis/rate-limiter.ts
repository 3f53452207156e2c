/**
 * Fixed-window rate limiting shared by every gateway process (Redis) or local
 * to one process (in-process, the embedded default).
 *
 * Windows are aligned to the caller's clock: window `w` covers
 * `[w * windowMs, (w + 1) * windowMs)`. Gateways sharing Redis should run
 * NTP-synced clocks; skew only moves a request into a neighbouring window.
 * A refused request consumes nothing.
 */
import type { Redis } from 'ioredis';
import { redisCall } from './errors.js';

export interface RateLimitResult {
  /** Whether the request fits the current window's budget (and was counted). */
  allowed: boolean;
  /** Budget left in the current window after this request. */
  remaining: number;
  /** Milliseconds until the current window ends and the budget is full again. */
  resetMs: number;
}

export interface RateLimiter {
  /**
   * Spend `cost` from `key`'s budget in the current window, or refuse.
   * @param cost positive integer, @default 1
   */
  take(key: string, cost?: number): Promise<RateLimitResult>;
}

export interface RateLimiterOptions {
  /**
   * Requests (cost units) allowed per key per window.
   * @default 100
   */
  limit?: number;
  /**
   * Window length in milliseconds.
   * @default 1000
   */
  windowMs?: number;
  /**
   * Current time in epoch milliseconds.
   * @default Date.now
   */
  clock?: () => number;
}

interface Resolved {
  limit: number;
  windowMs: number;
  clock: () => number;
}

function resolve(options: RateLimiterOptions): Resolved {
  const limit = options.limit ?? 100;
  const windowMs = options.windowMs ?? 1_000;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`rate limit must be a positive integer, got ${limit}`);
  if (!Number.isInteger(windowMs) || windowMs < 1) throw new RangeError(`windowMs must be a positive integer, got ${windowMs}`);
  return { limit, windowMs, clock: options.clock ?? Date.now };
}

function checkCost(cost: number): void {
  if (!Number.isInteger(cost) || cost < 1) throw new RangeError(`cost must be a positive integer, got ${cost}`);
}

/** In-process limiter: a Map per key, for one process or tests (inject `clock`). */
export class MemoryRateLimiter implements RateLimiter {
  readonly #o: Resolved;
  readonly #used = new Map<string, { window: number; used: number }>();
  #sweptWindow = -Infinity;

  constructor(options: RateLimiterOptions = {}) {
    this.#o = resolve(options);
  }

  async take(key: string, cost = 1): Promise<RateLimitResult> {
    checkCost(cost);
    const { limit, windowMs } = this.#o;
    const now = this.#o.clock();
    const window = Math.floor(now / windowMs);
    const resetMs = (window + 1) * windowMs - now;
    if (window !== this.#sweptWindow) {
      // Once per window, forget keys whose window has passed, so the map stays bounded by active keys.
      for (const [k, e] of this.#used) if (e.window !== window) this.#used.delete(k);
      this.#sweptWindow = window;
    }
    const entry = this.#used.get(key);
    const used = entry !== undefined && entry.window === window ? entry.used : 0;
    if (used + cost > limit) return { allowed: false, remaining: limit - used, resetMs };
    this.#used.set(key, { window, used: used + cost });
    return { allowed: true, remaining: limit - used - cost, resetMs };
  }
}

/** Atomic check-and-spend for one window key. Returns {allowed 0|1, remaining}. */
const TAKE_LUA = `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local cost = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
if used + cost > limit then return {0, limit - used} end
local now = redis.call('INCRBY', KEYS[1], cost)
if now == cost then redis.call('PEXPIRE', KEYS[1], ARGV[3]) end
return {1, limit - now}
`;

type WithTake = Redis & {
  vaticRateTake(key: string, cost: number, limit: number, ttlMs: number): Promise<[number, number]>;
};

/**
 * Limiter shared across processes: one counter key per (key, window) in Redis,
 * checked and spent by a single Lua script, so concurrent gateways never
 * overspend. Keys expire shortly after their window ends.
 */
export class RedisRateLimiter implements RateLimiter {
  readonly #o: Resolved;
  readonly #redis: WithTake;
  readonly #prefix: string;

  /** @param keyPrefix prepended to every key, @default 'vatic:' */
  constructor(redis: Redis, options: RateLimiterOptions & { keyPrefix?: string } = {}) {
    this.#o = resolve(options);
    this.#prefix = `${options.keyPrefix ?? 'vatic:'}rl:`;
    redis.defineCommand('vaticRateTake', { numberOfKeys: 1, lua: TAKE_LUA });
    this.#redis = redis as WithTake;
  }

  async take(key: string, cost = 1): Promise<RateLimitResult> {
    checkCost(cost);
    const { limit, windowMs } = this.#o;
    const now = this.#o.clock();
    const window = Math.floor(now / windowMs);
    const resetMs = (window + 1) * windowMs - now;
    // Outlive the window by one more window, so a slightly skewed peer still finds the counter.
    const ttlMs = resetMs + windowMs;
    const [allowed, remaining] = await redisCall('rate limit', () =>
      this.#redis.vaticRateTake(`${this.#prefix}${key}:${window}`, cost, limit, ttlMs),
    );
    return { allowed: allowed === 1, remaining, resetMs };
  }
}
