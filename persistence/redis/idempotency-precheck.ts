/**
 * A fast, best-effort "have we seen this request id?" check in front of the
 * journal. It is only a pre-check: it may forget a key (expiry, Redis restart,
 * no persistence) and it is not written in the same transaction as the
 * command. The durable guarantee is the journal's unique key on the
 * idempotency id; a 'first' here must still be allowed to fail there.
 */
import type { Redis } from 'ioredis';
import { redisCall } from './errors.js';

export type ClaimResult = 'first' | 'duplicate';

export interface IdempotencyPrecheck {
  /**
   * Claim `key` for `ttlMs`: 'first' for the first claim, 'duplicate' for any
   * claim until the first one expires.
   * @param ttlMs positive integer milliseconds
   */
  claim(key: string, ttlMs: number): Promise<ClaimResult>;
}

function checkTtl(ttlMs: number): void {
  if (!Number.isInteger(ttlMs) || ttlMs < 1) throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
}

/** In-process pre-check: a Map of expiry times (inject `clock` in tests). */
export class MemoryIdempotencyPrecheck implements IdempotencyPrecheck {
  readonly #clock: () => number;
  readonly #expires = new Map<string, number>();
  #claims = 0;

  /** @param clock epoch milliseconds, @default Date.now */
  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  async claim(key: string, ttlMs: number): Promise<ClaimResult> {
    checkTtl(ttlMs);
    const now = this.#clock();
    if (++this.#claims % 1024 === 0) for (const [k, at] of this.#expires) if (at <= now) this.#expires.delete(k);
    const at = this.#expires.get(key);
    if (at !== undefined && at > now) return 'duplicate';
    this.#expires.set(key, now + ttlMs);
    return 'first';
  }
}

/** Shared pre-check: `SET key 1 PX ttl NX` in Redis. */
export class RedisIdempotencyPrecheck implements IdempotencyPrecheck {
  readonly #redis: Redis;
  readonly #prefix: string;

  /** @param keyPrefix prepended to every key, @default 'vatic:' */
  constructor(redis: Redis, options: { keyPrefix?: string } = {}) {
    this.#redis = redis;
    this.#prefix = `${options.keyPrefix ?? 'vatic:'}idem:`;
  }

  async claim(key: string, ttlMs: number): Promise<ClaimResult> {
    checkTtl(ttlMs);
    const reply = await redisCall('idempotency claim', () => this.#redis.set(`${this.#prefix}${key}`, '1', 'PX', ttlMs, 'NX'));
    return reply === 'OK' ? 'first' : 'duplicate';
  }
}
