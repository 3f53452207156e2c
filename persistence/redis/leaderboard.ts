/**
 * Assessments ranked by return. Redis holds one sorted set shared by every
 * process; the in-process board keeps a Map and sorts on read.
 *
 * Order: highest `returnPct` first; equal returns are ordered by
 * `assessmentId` descending (byte order), which is what Redis's ZREVRANGE does,
 * so both implementations rank identically. Ranks are 1-based.
 */
import type { Redis } from 'ioredis';
import { redisCall } from './errors.js';

export interface LeaderboardEntry {
  assessmentId: string;
  /** Return in percent; any finite number. */
  returnPct: number;
}

export interface RankedEntry extends LeaderboardEntry {
  /** 1 for the best return. */
  rank: number;
}

export interface Leaderboard {
  /** Set each entry's return, adding new assessments and moving existing ones; within one call the last entry for an id wins. */
  update(entries: readonly LeaderboardEntry[]): Promise<void>;
  /** The best `n` entries, best first. */
  top(n: number): Promise<RankedEntry[]>;
  /** An assessment's 1-based rank, or undefined when it is not on the board. */
  rankOf(assessmentId: string): Promise<number | undefined>;
  /** Take an assessment off the board; false when it was not on it. */
  remove(assessmentId: string): Promise<boolean>;
}

function checkEntries(entries: readonly LeaderboardEntry[]): void {
  for (const e of entries) {
    if (!Number.isFinite(e.returnPct)) throw new RangeError(`returnPct of ${e.assessmentId} must be finite, got ${e.returnPct}`);
  }
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`n must be a non-negative integer, got ${n}`);
}

/** Redis order: score descending, then member descending by bytes. */
function compare(a: LeaderboardEntry, b: LeaderboardEntry): number {
  if (a.returnPct !== b.returnPct) return b.returnPct - a.returnPct;
  return Buffer.compare(Buffer.from(b.assessmentId), Buffer.from(a.assessmentId));
}

/** In-process leaderboard. */
export class MemoryLeaderboard implements Leaderboard {
  readonly #returns = new Map<string, number>();

  async update(entries: readonly LeaderboardEntry[]): Promise<void> {
    checkEntries(entries);
    for (const e of entries) this.#returns.set(e.assessmentId, e.returnPct);
  }

  #sorted(): LeaderboardEntry[] {
    return [...this.#returns].map(([assessmentId, returnPct]) => ({ assessmentId, returnPct })).sort(compare);
  }

  async top(n: number): Promise<RankedEntry[]> {
    checkN(n);
    return this.#sorted()
      .slice(0, n)
      .map((e, i) => ({ ...e, rank: i + 1 }));
  }

  async rankOf(assessmentId: string): Promise<number | undefined> {
    if (!this.#returns.has(assessmentId)) return undefined;
    return this.#sorted().findIndex((e) => e.assessmentId === assessmentId) + 1;
  }

  async remove(assessmentId: string): Promise<boolean> {
    return this.#returns.delete(assessmentId);
  }
}

/** ZADD arguments per command, so one huge update does not become one huge command. */
const CHUNK = 500;

/** Leaderboard in one Redis sorted set, `${keyPrefix}leaderboard`. */
export class RedisLeaderboard implements Leaderboard {
  readonly #redis: Redis;
  readonly #key: string;

  /** @param keyPrefix prepended to the key, @default 'vatic:' */
  constructor(redis: Redis, options: { keyPrefix?: string } = {}) {
    this.#redis = redis;
    this.#key = `${options.keyPrefix ?? 'vatic:'}leaderboard`;
  }

  async update(entries: readonly LeaderboardEntry[]): Promise<void> {
    checkEntries(entries);
    if (entries.length === 0) return;
    const pipeline = this.#redis.pipeline();
    for (let i = 0; i < entries.length; i += CHUNK) {
      // String(x) is the shortest exact text of a double; Redis parses it back to the same double.
      const args = entries.slice(i, i + CHUNK).flatMap((e) => [String(e.returnPct), e.assessmentId]);
      pipeline.zadd(this.#key, ...args);
    }
    const results = await redisCall('leaderboard update', () => pipeline.exec());
    for (const [err] of results ?? []) if (err) throw err;
  }

  async top(n: number): Promise<RankedEntry[]> {
    checkN(n);
    if (n === 0) return [];
    const flat = await redisCall('leaderboard top', () => this.#redis.zrevrange(this.#key, 0, n - 1, 'WITHSCORES'));
    const out: RankedEntry[] = [];
    for (let i = 0; i + 1 < flat.length; i += 2) {
      out.push({ rank: i / 2 + 1, assessmentId: flat[i]!, returnPct: Number(flat[i + 1]) });
    }
    return out;
  }

  async rankOf(assessmentId: string): Promise<number | undefined> {
    const rank = await redisCall('leaderboard rank', () => this.#redis.zrevrank(this.#key, assessmentId));
    return rank === null ? undefined : rank + 1;
  }

  async remove(assessmentId: string): Promise<boolean> {
    return (await redisCall('leaderboard remove', () => this.#redis.zrem(this.#key, assessmentId))) > 0;
  }
}
