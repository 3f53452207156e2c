/**
 * Kalshi trade API v2 WebSocket (`/trade-api/ws/v2`), signed at the
 * handshake (kalshi-auth.ts). Commands are `{id, cmd, params}`; `subscribe`
 * to `orderbook_delta` (default; `orderbook_snapshot` then `orderbook_delta`
 * frames with `seq` per subscription `sid`) or `ticker`, and to
 * `market_lifecycle_v2` for determinations (`event_type: "determined" |
 * "settled"`, `result: "yes" | "no"`), which become resolutions. A `seq` gap
 * resubscribes the subscription's markets (`unsubscribe` the sid, `subscribe`
 * again: a fresh snapshot under a new sid); frames of the old sid are held.
 * The server pings every 10 s.
 */
import type { Instrument } from '../../actors/index.js';
import { kalshiAuthHeaders, type KalshiCredentials } from './kalshi-auth.js';
import { KalshiNormalizer } from './kalshi-normalizer.js';
import { SequenceGapError, SymbolMap } from './normalized-quote.js';
import { chunks, field, normalizing, numberField, parseFrame } from './session-helpers.js';
import type { SessionContext, VenueProtocol, VenueSession } from './venue-protocol.js';

/** Options of {@link kalshiProtocol}. */
export interface KalshiProtocolOptions {
  /** Kalshi `market_ticker` → engine market (its instruments are the market's YES and NO shares). */
  readonly markets: Readonly<Record<string, string>>;
  /** The engine's binary instruments (to find each market's YES and NO symbols). */
  readonly instruments: Iterable<Instrument>;
  /** Signs the handshake. @default unsigned (the venue refuses the orderbook channel) */
  readonly credentials?: KalshiCredentials;
  /** @default 'wss://api.elections.kalshi.com/trade-api/ws/v2' */
  readonly url?: string;
  /** @default 'orderbook_delta' */
  readonly channel?: 'orderbook_delta' | 'ticker';
  /** Subscribe to `market_lifecycle_v2` for resolutions. @default true */
  readonly lifecycle?: boolean;
  /** Markets per subscribe command. @default 100 */
  readonly marketsPerSubscribe?: number;
  /** @default 300_000 */
  readonly staleAfterMs?: number;
  /** Commands per second. @default 5 */
  readonly sendRatePerSecond?: number;
  /** Clock for the signature timestamp. @default Date.now */
  readonly now?: () => number;
}

/** The Kalshi protocol for a {@link VenueConnector}. */
export function kalshiProtocol(options: KalshiProtocolOptions): VenueProtocol {
  const tickers = Object.keys(options.markets);
  if (tickers.length === 0) throw new Error('kalshi: no markets to subscribe');
  const yes = new Map<string, string>();
  const no = new Map<string, string>();
  const instruments = [...options.instruments];
  for (const [ticker, market] of Object.entries(options.markets)) {
    const of = (outcome: string) => instruments.find((i) => i.kind === 'binary' && i.market === market && i.outcome === outcome)?.symbol;
    const y = of('YES');
    if (y === undefined) throw new Error(`kalshi: market ${ticker} maps to ${market}, which has no YES instrument`);
    yes.set(ticker, y);
    const n = of('NO');
    if (n !== undefined) no.set(ticker, n);
  }
  const url = options.url ?? 'wss://api.elections.kalshi.com/trade-api/ws/v2';
  const path = new URL(url).pathname;
  const now = options.now ?? Date.now;
  const maps = { yes: new SymbolMap('kalshi', yes), no: new SymbolMap('kalshi', no) };
  return {
    venue: 'kalshi',
    instrumentIds: tickers,
    symbolsOf: (id) => [yes.get(id), no.get(id)].filter((s): s is string => s !== undefined),
    globalSequence: false,
    staleAfterMs: options.staleAfterMs ?? 300_000,
    socket: {
      url: () => url,
      ...(options.credentials === undefined ? {} : { headers: () => kalshiAuthHeaders(options.credentials!, 'GET', path, now()) }),
      idleTimeoutMs: 30_000, // the server pings every 10 s
      sendRatePerSecond: options.sendRatePerSecond ?? 5,
      sendBurst: 2,
    },
    session: (ctx) => new KalshiSession(ctx, options, maps),
  };
}

interface Sub {
  readonly channel: string;
  readonly markets: readonly string[];
}

class KalshiSession implements VenueSession {
  readonly #ctx: SessionContext;
  readonly #o: KalshiProtocolOptions;
  readonly #markets: readonly string[];
  readonly #normalizer: KalshiNormalizer;
  readonly #pending = new Map<number, Sub>();
  readonly #sids = new Map<number, Sub>();
  readonly #closedSids = new Set<number>();
  #nextId = 1;
  #ready = false;

  constructor(ctx: SessionContext, options: KalshiProtocolOptions, maps: { yes: SymbolMap; no: SymbolMap }) {
    this.#ctx = ctx;
    this.#o = options;
    this.#markets = Object.keys(options.markets);
    this.#normalizer = new KalshiNormalizer({ symbols: maps.yes, noSymbols: maps.no, everyUpdate: true });
  }

  open(): void {
    for (const batch of chunks(this.#markets, this.#o.marketsPerSubscribe ?? 100))
      this.#subscribe(this.#o.channel ?? 'orderbook_delta', batch);
    if (this.#o.lifecycle ?? true) this.#subscribe('market_lifecycle_v2', []);
  }

  #subscribe(channel: string, markets: readonly string[]): void {
    const id = this.#nextId++;
    this.#pending.set(id, { channel, markets });
    const params = markets.length > 0 ? { channels: [channel], market_tickers: markets } : { channels: [channel] };
    this.#ctx.send(JSON.stringify({ id, cmd: 'subscribe', params }));
  }

  message(data: string, receivedAt: number): void {
    const ctx = this.#ctx;
    const frame = parseFrame(ctx, data);
    if (frame === undefined) return;
    const type = field(frame, 'type');
    const sid = numberField(frame, 'sid');
    const msg = (frame as { msg?: unknown }).msg;
    switch (type) {
      case 'subscribed': {
        const id = numberField(frame, 'id');
        const sub = id === undefined ? undefined : this.#pending.get(id);
        const newSid = numberField(msg, 'sid');
        if (sub !== undefined && newSid !== undefined) {
          this.#pending.delete(id!);
          this.#sids.set(newSid, sub);
        }
        if (!this.#ready && this.#pending.size === 0) {
          this.#ready = true;
          ctx.ready();
        }
        return;
      }
      case 'unsubscribed':
      case 'ok':
        return;
      case 'error':
        ctx.log.warn(
          { venue: 'kalshi', id: numberField(frame, 'id'), code: numberField(msg, 'code'), message: field(msg, 'msg') },
          'venue answered an error',
        );
        return;
      case 'orderbook_snapshot':
      case 'orderbook_delta':
      case 'ticker':
        this.#book(frame, type, sid, msg, receivedAt);
        return;
      case 'market_lifecycle_v2':
        this.#lifecycle(msg, receivedAt);
        return;
      default:
        return; // other channels' frames (trade, fill, ...) carry no quote
    }
  }

  #book(frame: unknown, type: string, sid: number | undefined, msg: unknown, receivedAt: number): void {
    const ctx = this.#ctx;
    const ticker = field(msg, 'market_ticker');
    const mapped = ticker !== undefined && this.#o.markets[ticker] !== undefined ? ticker : undefined;
    if (sid !== undefined && this.#closedSids.has(sid)) {
      ctx.hold('AWAITING_SNAPSHOT', `frame of subscription ${sid}, replaced after a gap`, mapped);
      return;
    }
    if (type !== 'ticker' && (sid === undefined || !this.#sids.has(sid))) {
      // Only subscriptions this session made: a venue cannot make the normalizer track sids without bound.
      ctx.hold('MALFORMED_MESSAGE', `${type} of subscription ${String(sid)}, which this connection did not make`, mapped);
      return;
    }
    if (mapped !== undefined) ctx.alive(mapped);
    try {
      const quotes = normalizing(ctx, mapped, () => this.#normalizer.normalize(frame, receivedAt));
      if (
        quotes.length === 0 &&
        type === 'orderbook_delta' &&
        mapped !== undefined &&
        this.#normalizer.awaitingSnapshot().includes(mapped)
      ) {
        ctx.hold('AWAITING_SNAPSHOT', `delta of ${mapped} while its book waits for a snapshot`, mapped);
      }
      for (const q of quotes) ctx.quote(q); // its `seq` counts per subscription: not a dedupe key
    } catch (err) {
      if (!(err instanceof SequenceGapError)) throw err;
      ctx.gap(err.message, err.instrumentIds);
      this.#resubscribe(err.subscription);
    }
  }

  #lifecycle(msg: unknown, receivedAt: number): void {
    const ticker = field(msg, 'market_ticker');
    const event = field(msg, 'event_type');
    if (ticker === undefined || this.#o.markets[ticker] === undefined) return; // the channel carries every market
    if (event !== 'determined' && event !== 'settled') return;
    const result = field(msg, 'result');
    if (result !== 'yes' && result !== 'no') {
      this.#ctx.hold('UNKNOWN_OUTCOME', `market ${ticker} ${event} with result ${String(result)}`, ticker);
      return;
    }
    const seconds = numberField(msg, 'determination_ts') ?? numberField(msg, 'settled_ts');
    const ts = seconds !== undefined && seconds > 0 ? (seconds < 1e12 ? seconds * 1000 : seconds) : receivedAt;
    this.#ctx.resolution({ market: this.#o.markets[ticker]!, outcome: result.toUpperCase(), ts });
  }

  /** Replace a subscription: unsubscribe its sid, subscribe its markets again (a fresh snapshot). */
  #resubscribe(sid: number): void {
    const sub = this.#sids.get(sid);
    if (sub === undefined || this.#closedSids.has(sid)) return;
    this.#closedSids.add(sid);
    this.#sids.delete(sid);
    this.#ctx.send(JSON.stringify({ id: this.#nextId++, cmd: 'unsubscribe', params: { sids: [sid] } }));
    this.#subscribe(sub.channel, sub.markets);
  }

  resnapshot(ids: readonly string[]): boolean {
    const wanted = new Set(ids);
    for (const [sid, sub] of [...this.#sids]) {
      if (sub.channel !== 'market_lifecycle_v2' && sub.markets.some((m) => wanted.has(m))) this.#resubscribe(sid);
    }
    return true;
  }
}
