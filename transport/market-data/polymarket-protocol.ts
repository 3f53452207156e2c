/**
 * Polymarket CLOB market channel (`/ws/market`): one subscription message
 * `{assets_ids, type: "market", custom_feature_enabled: true}` (further
 * batches with `operation: "subscribe"`), then `book` snapshots and
 * `price_change` updates per asset (outcome token), `tick_size_change`,
 * `last_trade_price` and, with custom features on, `market_resolved`
 * (`winning_asset_id`), which becomes a resolution of the engine market the
 * winning asset's instrument belongs to. The client sends `PING` every 10 s
 * and the server answers `PONG`. The channel has no sequence numbers: a stale
 * asset is resubscribed, which sends its `book` again.
 */
import type { Instrument } from '../../actors/index.js';
import type { SymbolMap } from './normalized-quote.js';
import { PolymarketNormalizer } from './polymarket-normalizer.js';
import { chunks, field, normalizing, parseFrame } from './session-helpers.js';
import type { SessionContext, VenueProtocol, VenueSession } from './venue-protocol.js';

/** Options of {@link polymarketProtocol}. */
export interface PolymarketProtocolOptions {
  /** Polymarket `asset_id` → engine symbol. */
  readonly symbols: SymbolMap;
  /** The engine's instrument of a symbol (market and outcome of a binary share), to map resolutions. */
  readonly instrument: (symbol: string) => Instrument | undefined;
  /** @default 'wss://ws-subscriptions-clob.polymarket.com/ws/market' */
  readonly url?: string;
  /** Assets per subscription message. @default 100 */
  readonly assetsPerSubscribe?: number;
  /** A prediction market can be quiet for minutes. @default 300_000 */
  readonly staleAfterMs?: number;
}

/** The Polymarket market-channel protocol for a {@link VenueConnector}. */
export function polymarketProtocol(options: PolymarketProtocolOptions): VenueProtocol {
  const ids = options.symbols.ids();
  if (ids.length === 0) throw new Error('polymarket: no assets to subscribe');
  const url = options.url ?? 'wss://ws-subscriptions-clob.polymarket.com/ws/market';
  return {
    venue: 'polymarket',
    instrumentIds: ids,
    symbolsOf: (id) => (options.symbols.has(id) ? [options.symbols.resolve(id)] : []),
    globalSequence: false,
    staleAfterMs: options.staleAfterMs ?? 300_000,
    socket: { url: () => url, idleTimeoutMs: 30_000, keepaliveIntervalMs: 10_000, sendRatePerSecond: 5, sendBurst: 2 },
    session: (ctx) => new PolymarketSession(ctx, options),
  };
}

class PolymarketSession implements VenueSession {
  readonly #ctx: SessionContext;
  readonly #o: PolymarketProtocolOptions;
  readonly #ids: string[];
  readonly #normalizer: PolymarketNormalizer;
  #ready = false;

  constructor(ctx: SessionContext, options: PolymarketProtocolOptions) {
    this.#ctx = ctx;
    this.#o = options;
    this.#ids = options.symbols.ids();
    this.#normalizer = new PolymarketNormalizer({ symbols: options.symbols, everyUpdate: true });
  }

  open(): void {
    chunks(this.#ids, this.#o.assetsPerSubscribe ?? 100).forEach((batch, k) => {
      this.#ctx.send(
        JSON.stringify(
          k === 0
            ? { assets_ids: batch, type: 'market', custom_feature_enabled: true }
            : { assets_ids: batch, operation: 'subscribe', custom_feature_enabled: true },
        ),
      );
    });
  }

  keepalive(): void {
    this.#ctx.send('PING');
  }

  message(data: string): void {
    if (data === 'PONG') return;
    const frame = parseFrame(this.#ctx, data);
    if (frame === undefined) return;
    for (const event of Array.isArray(frame) ? frame : [frame]) this.#event(event);
  }

  #event(event: unknown): void {
    const ctx = this.#ctx;
    const type = field(event, 'event_type');
    if (type === 'market_resolved') {
      this.#resolved(event);
      return;
    }
    const assetId = field(event, 'asset_id');
    if (type === 'book' && assetId !== undefined && this.#o.symbols.has(assetId)) {
      ctx.alive(assetId);
      if (!this.#ready) {
        this.#ready = true;
        ctx.ready();
      }
    }
    if (type === 'price_change') {
      const changes = (event as { price_changes?: unknown }).price_changes;
      if (Array.isArray(changes))
        for (const c of changes) {
          const id = field(c, 'asset_id');
          if (id !== undefined) ctx.alive(id);
        }
      else if (assetId !== undefined) ctx.alive(assetId);
    }
    for (const q of normalizing(ctx, assetId, () => this.#normalizer.normalize(event))) ctx.quote(q);
  }

  #resolved(event: unknown): void {
    const ctx = this.#ctx;
    const winner = field(event, 'winning_asset_id');
    const ts = Number(field(event, 'timestamp') ?? (event as { timestamp?: unknown }).timestamp);
    const at = Number.isSafeInteger(ts) && ts > 0 ? ts : ctx.now();
    const assets = (event as { assets_ids?: unknown }).assets_ids;
    const ours = (Array.isArray(assets) ? assets : []).filter((a): a is string => typeof a === 'string' && this.#o.symbols.has(a));
    if (winner === undefined) {
      ctx.hold('MALFORMED_MESSAGE', 'market_resolved without winning_asset_id');
      return;
    }
    if (this.#o.symbols.has(winner)) {
      const inst = this.#o.instrument(this.#o.symbols.resolve(winner));
      if (inst?.market === undefined || inst.outcome === undefined) {
        ctx.hold('UNKNOWN_MARKET', `winning asset ${winner} is no binary instrument the engine knows`, winner);
        return;
      }
      ctx.resolution({ market: inst.market, outcome: inst.outcome, ts: at });
      return;
    }
    // Only a losing asset of ours: the winner is the other outcome of a two-outcome market.
    if (ours.length === 0) return; // another market
    const inst = this.#o.instrument(this.#o.symbols.resolve(ours[0]!));
    ctx.hold(
      'UNKNOWN_OUTCOME',
      `market ${inst?.market ?? field(event, 'market')} resolved to asset ${winner}, which is not configured`,
      ours[0],
    );
  }

  resnapshot(ids: readonly string[]): boolean {
    for (const batch of chunks(ids, this.#o.assetsPerSubscribe ?? 100)) {
      this.#ctx.send(JSON.stringify({ assets_ids: batch, operation: 'unsubscribe' }));
      this.#ctx.send(JSON.stringify({ assets_ids: batch, operation: 'subscribe', custom_feature_enabled: true }));
    }
    return true;
  }
}
