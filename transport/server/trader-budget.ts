/**
 * A per-principal frame budget that is spent synchronously (a frame is
 * taken or refused in the handler, in order) but counted in a shared
 * {@link RateLimiter}: the budget is leased from the limiter in small
 * chunks, so every connection and every reconnect of one trader, on any
 * gateway sharing the limiter (Redis), draws on the same window.
 */
import type { RateLimiter } from '../../persistence/index.js';

interface Lease {
  /** Frames left in the lease. */
  left: number;
  /** A refill in flight. */
  pending: Promise<void> | undefined;
  /** The limiter refused: no refill is asked before this time. */
  blockedUntil: number;
  usedAt: number;
}

/** Options of {@link LeasedBudget}. */
export interface LeasedBudgetOptions {
  /** The shared limiter the frames are counted in. */
  readonly limiter: RateLimiter;
  /** Key prefix in the limiter, e.g. `frames:`. */
  readonly prefix: string;
  /** Frames leased at a time; the lease is refilled when half spent. */
  readonly chunk: number;
  /** Called when the limiter fails (Redis down): the lease is granted locally and the failure reported. */
  readonly onError?: (err: unknown) => void;
  /** @default Date.now */
  readonly clock?: () => number;
}

/** Leases of frames per key, spent synchronously, refilled asynchronously from the shared limiter. */
export class LeasedBudget {
  readonly #o: LeasedBudgetOptions;
  readonly #clock: () => number;
  readonly #leases = new Map<string, Lease>();

  constructor(o: LeasedBudgetOptions) {
    this.#o = o;
    this.#clock = o.clock ?? Date.now;
  }

  /** Keys with a lease held (bounded by {@link sweep}). */
  get size(): number {
    return this.#leases.size;
  }

  /** Make sure `key` holds a lease (or was refused one) before its frames come: call at sign-in. */
  async prime(key: string): Promise<void> {
    const lease = this.#lease(key);
    if (lease.left === 0) await this.#refill(key, lease);
  }

  /** Spend one frame of `key`'s budget; false when it is spent (the refill, if allowed, is already asked). */
  take(key: string): boolean {
    const lease = this.#lease(key);
    lease.usedAt = this.#clock();
    if (lease.left > 0) {
      lease.left--;
      if (lease.left * 2 < this.#o.chunk) void this.#refill(key, lease);
      return true;
    }
    void this.#refill(key, lease);
    return false;
  }

  /**
   * Forget leases unused for `idleMs` whose key `keep` does not claim: their
   * unspent frames are given up, never added. A key still connected is kept,
   * or a calm trader's next frame would find no lease and be refused.
   */
  sweep(idleMs: number, keep: (key: string) => boolean = () => false): void {
    const now = this.#clock();
    for (const [k, l] of this.#leases) if (l.pending === undefined && now - l.usedAt > idleMs && !keep(k)) this.#leases.delete(k);
  }

  #lease(key: string): Lease {
    let lease = this.#leases.get(key);
    if (lease === undefined) this.#leases.set(key, (lease = { left: 0, pending: undefined, blockedUntil: 0, usedAt: this.#clock() }));
    return lease;
  }

  #refill(key: string, lease: Lease): Promise<void> {
    if (lease.pending !== undefined) return lease.pending;
    if (this.#clock() < lease.blockedUntil) return Promise.resolve();
    lease.pending = this.#o.limiter
      .take(this.#o.prefix + key, this.#o.chunk)
      .then(
        (r) => {
          if (r.allowed) lease.left += this.#o.chunk;
          else {
            lease.blockedUntil = this.#clock() + r.resetMs;
            // Lease again as the window turns, so the trader's first frame of the next window is not refused for want of one.
            setTimeout(() => {
              if (this.#leases.get(key) === lease && lease.left === 0) void this.#refill(key, lease);
            }, r.resetMs + 1).unref();
          }
        },
        (err: unknown) => {
          // The shared limiter is down: fail open for one chunk (the per-connection limit still holds).
          lease.left += this.#o.chunk;
          this.#o.onError?.(err);
        },
      )
      .finally(() => (lease.pending = undefined));
    return lease.pending;
  }
}
