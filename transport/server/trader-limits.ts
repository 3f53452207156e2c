/**
 * What one trader may hold and send over all its connections: connections,
 * subscriptions, frames per second (a {@link LeasedBudget} on the shared
 * limiter), and new connections per trader and per address. The defaults are
 * documented in asyncapi-ws.json's `x-session-defaults`.
 */
import { MemoryRateLimiter, type RateLimiter } from '../../persistence/index.js';
import type { GatewayOptions } from './gateway-options.js';
import { LeasedBudget } from './trader-budget.js';

/** The defaults of the per-trader and per-address limits of {@link GatewayOptions} (documented in asyncapi-ws.json). */
export const TRADER_LIMIT_DEFAULTS = {
  traderMessagesPerSecond: 100,
  maxConnectionsPerTrader: 8,
  maxTraderSubscriptions: 64,
  connectionWindowMs: 60_000,
  traderConnectionsPerWindow: 30,
  addressConnectionsPerWindow: 300,
} as const;

/** A trader's holdings on this gateway. */
export interface TraderCount {
  connections: number;
  subscriptions: number;
}

/** Per-trader and per-address limits of one gateway. */
export class TraderLimits {
  /** Frames per trader over all its connections, reconnects and gateways. */
  readonly frames: LeasedBudget;
  /** New connections, counted per trader (after auth) and per address (before the upgrade). */
  readonly connects: { readonly trader: RateLimiter; readonly address: RateLimiter };
  readonly traderMessagesPerSecond: number;
  readonly maxConnectionsPerTrader: number;
  readonly maxTraderSubscriptions: number;
  readonly #perTrader = new Map<string, TraderCount>();

  constructor(o: GatewayOptions) {
    this.traderMessagesPerSecond = o.traderMessagesPerSecond ?? TRADER_LIMIT_DEFAULTS.traderMessagesPerSecond;
    this.maxConnectionsPerTrader = o.maxConnectionsPerTrader ?? TRADER_LIMIT_DEFAULTS.maxConnectionsPerTrader;
    this.maxTraderSubscriptions = o.maxTraderSubscriptions ?? TRADER_LIMIT_DEFAULTS.maxTraderSubscriptions;
    const rate = this.traderMessagesPerSecond;
    // Leases of a fifth of a second's budget: a trader gets at most its rate plus one lease per gateway.
    this.frames = new LeasedBudget({
      limiter: o.frameLimiter ?? new MemoryRateLimiter({ limit: rate, windowMs: 1_000 }),
      prefix: 'frames:',
      chunk: Math.max(1, Math.floor(rate / 5)),
      onError: (err) => o.log.warn({ err }, 'shared frame limiter failed; granting a lease locally'),
    });
    const window = o.connectionWindowMs ?? TRADER_LIMIT_DEFAULTS.connectionWindowMs;
    this.connects = o.connectionLimiters ?? {
      trader: new MemoryRateLimiter({
        limit: o.traderConnectionsPerWindow ?? TRADER_LIMIT_DEFAULTS.traderConnectionsPerWindow,
        windowMs: window,
      }),
      address: new MemoryRateLimiter({
        limit: o.addressConnectionsPerWindow ?? TRADER_LIMIT_DEFAULTS.addressConnectionsPerWindow,
        windowMs: window,
      }),
    };
  }

  /** The trader's holdings, while it has a connection here. */
  of(traderId: string): TraderCount | undefined {
    return this.#perTrader.get(traderId);
  }

  /** Count a new authenticated connection; false when the trader already holds the most. */
  join(traderId: string): boolean {
    const t = this.#perTrader.get(traderId) ?? { connections: 0, subscriptions: 0 };
    if (t.connections >= this.maxConnectionsPerTrader) return false;
    t.connections++;
    this.#perTrader.set(traderId, t);
    return true;
  }

  /** A connection holding `subscriptions` closed. */
  leave(traderId: string, subscriptions: number): void {
    const t = this.#perTrader.get(traderId);
    if (t === undefined) return;
    t.subscriptions -= subscriptions;
    if (--t.connections <= 0) this.#perTrader.delete(traderId);
  }

  /** Forget frame leases unused for 10 s of traders with no connection here. */
  sweep(): void {
    this.frames.sweep(10_000, (traderId) => this.#perTrader.has(traderId));
  }
}
