/**
 * A venue connector: one {@link VenueSocket} speaking one venue's protocol,
 * every quote through the {@link QuoteGuard}, every decision counted and
 * logged, good quotes and resolutions handed to a {@link QuoteSink} (the
 * JetStream market stream) with a `Nats-Msg-Id` derived from the venue's own
 * sequence or time, so several connectors of one venue (active/standby)
 * keep the stream single. Per instrument it watches the feed's age, marks it
 * stale and asks for a resnapshot.
 */
import type { MarketRegistry } from '../../engine/index.js';
import type { ResolutionMessage, TickMessage } from '../nats/index.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import type { ConnectorMetrics } from './connector-metrics.js';
import type { HoldReason } from './data-quality.js';
import type { NormalizedQuote } from './normalized-quote.js';
import type { QuoteGuard, ReferencePrices } from './quote-guard.js';
import { QuoteKeys } from './quote-keys.js';
import { silentLog, type ConnectorLog, type SessionContext, type VenueProtocol, type VenueSession } from './venue-protocol.js';
import { VenueSocket, type VenueConnection, type VenueSocketEvent, type VenueSocketOptions } from './venue-socket.js';

/** Where good quotes and resolutions go. */
export interface QuoteSink {
  /** Publish one tick with its dedupe id; resolves once stored (or reported a duplicate). */
  publishTick(tick: TickMessage, msgId: string): Promise<{ readonly duplicate: boolean }>;
  /** Publish one resolution (its id is `<venue>:<market>:resolved`). */
  publishResolution(resolution: ResolutionMessage): Promise<{ readonly duplicate: boolean }>;
}

/** Options of {@link VenueConnector}. */
export interface VenueConnectorOptions {
  readonly protocol: VenueProtocol;
  readonly guard: QuoteGuard;
  /** Known markets, to check resolutions (and not publish one twice). */
  readonly markets: MarketRegistry;
  /** Where good quotes go. Absent in reference mode (`reference` given). */
  readonly sink?: QuoteSink;
  /** Reference mode: good quotes are recorded here (for another connector's guard) instead of published. */
  readonly reference?: ReferencePrices;
  /** @default none */
  readonly metrics?: ConnectorMetrics;
  /** @default silent */
  readonly log?: ConnectorLog;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Overrides of the venue's socket settings (tests: a backoff random source, short timeouts). */
  readonly socket?: Partial<Omit<VenueSocketOptions, 'handler' | 'onEvent' | 'clock'>>;
  /** Overrides the venue's stale limit, ms. */
  readonly staleAfterMs?: number;
  /** Publishes awaiting their ack before the socket stops reading. @default 1_024 */
  readonly maxInFlight?: number;
  /** Minimum time between two log lines of one (symbol, reason), ms; the ones between are counted in the next. @default 10_000 */
  readonly logEveryMs?: number;
}

interface Feed {
  lastAt: number;
  stale: boolean;
  resnapshotAt: number;
}

/** See the module comment. */
export class VenueConnector {
  readonly #o: VenueConnectorOptions;
  readonly #p: VenueProtocol;
  readonly #clock: Clock;
  readonly #log: ConnectorLog;
  readonly #socket: VenueSocket;
  readonly #sessions = new Map<number, VenueSession>();
  readonly #keys = new QuoteKeys();
  readonly #lastSeq = new Map<string, number>();
  readonly #feeds = new Map<string, Feed>();
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #logged = new Map<string, { at: number; suppressed: number }>();
  readonly #staleAfter: number;
  readonly #maxInFlight: number;
  readonly #removeCollect: () => void;
  #staleTimer: TimerHandle | undefined;
  #stopped = false;
  #published = 0;
  readonly #held = new Map<HoldReason, number>();

  constructor(options: VenueConnectorOptions) {
    if (options.sink === undefined && options.reference === undefined)
      throw new Error('a connector needs a sink, or a reference to record into');
    this.#o = options;
    this.#p = options.protocol;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.log ?? silentLog;
    this.#staleAfter = options.staleAfterMs ?? this.#p.staleAfterMs;
    this.#maxInFlight = options.maxInFlight ?? 1_024;
    const now = this.#clock.now();
    for (const id of this.#p.instrumentIds) this.#feeds.set(id, { lastAt: now, stale: false, resnapshotAt: 0 });
    this.#removeCollect = options.metrics?.onCollect(() => this.#reportAges()) ?? (() => {});
    this.#socket = new VenueSocket({
      ...this.#p.socket,
      ...options.socket,
      clock: this.#clock,
      url: options.socket?.url ?? this.#p.socket.url,
      onEvent: (e) => this.#onSocketEvent(e),
      handler: {
        open: (conn) => this.#open(conn),
        message: (conn, data, at) => this.#message(conn, data, at),
        closed: (conn) => {
          this.#sessions.delete(conn.id);
        },
        keepalive: (conn) => this.#sessions.get(conn.id)?.keepalive?.(),
      },
    });
  }

  get venue(): string {
    return this.#p.venue;
  }

  /** Whether the venue connection is open. */
  get connected(): boolean {
    return this.#socket.connected;
  }

  /** Connections opened so far. */
  get connections(): number {
    return this.#socket.connections;
  }

  /** Quotes handed to the sink (or recorded as reference). */
  get published(): number {
    return this.#published;
  }

  /** Held-back counts by reason. */
  get held(): ReadonlyMap<HoldReason, number> {
    return this.#held;
  }

  /** Instruments currently stale. */
  staleInstruments(): string[] {
    return [...this.#feeds].filter(([, f]) => f.stale).map(([id]) => id);
  }

  /**
   * Start the guard from quotes already on the stream (the last tick of each
   * symbol before a restart, or another connector's): they become the jump
   * reference, and an identical next quote is not published again.
   */
  seed(quotes: Iterable<NormalizedQuote>): void {
    for (const q of quotes) this.#o.guard.seed(q);
  }

  /** Connect and keep connected until {@link stop}. */
  start(): void {
    this.#socket.start();
    const every = Math.max(10, Math.min(1_000, Math.floor(this.#staleAfter / 4)));
    const tick = (): void => {
      if (this.#stopped) return;
      this.#checkStale();
      this.#staleTimer = this.#clock.setTimeout(tick, every);
    };
    this.#staleTimer = this.#clock.setTimeout(tick, every);
  }

  /** Close the venue connection (1000), then wait for the publishes in flight. */
  async stop(): Promise<void> {
    this.#stopped = true;
    if (this.#staleTimer !== undefined) this.#clock.clearTimeout(this.#staleTimer);
    await this.#socket.stop();
    await Promise.allSettled([...this.#inFlight]);
    this.#removeCollect();
    this.#o.metrics?.connected.set({ venue: this.#p.venue }, 0);
  }

  #open(conn: VenueConnection): void {
    const ctx = this.#context(conn);
    const session = this.#p.session(ctx);
    this.#sessions.set(conn.id, session);
    session.open();
  }

  #message(conn: VenueConnection, data: string, receivedAt: number): void {
    this.#o.metrics?.messages.inc({ venue: this.#p.venue });
    const session = this.#sessions.get(conn.id);
    if (session === undefined) return;
    try {
      session.message(data, receivedAt);
    } catch (err) {
      // A session bug must not take the connector down: the frame is held and the error logged.
      this.#hold('MALFORMED_MESSAGE', `unexpected error reading a frame: ${(err as Error).message}`, undefined);
      this.#log.error({ venue: this.#p.venue, err: (err as Error).message }, 'venue frame could not be read');
    }
  }

  #context(conn: VenueConnection): SessionContext {
    return {
      log: this.#log,
      now: () => this.#clock.now(),
      send: (m) => conn.send(m),
      ready: () => conn.ready(),
      quote: (q, globalKey) => this.#quote(q, globalKey),
      resolution: (r) => this.#resolution(r),
      hold: (reason, detail, instrumentId) =>
        this.#hold(reason, detail, instrumentId === undefined ? undefined : this.#p.symbolsOf(instrumentId)[0]),
      gap: (detail, ids) => {
        this.#o.metrics?.gaps.inc({ venue: this.#p.venue });
        this.#o.metrics?.resnapshots.inc({ venue: this.#p.venue, cause: 'gap' });
        this.#hold('SEQUENCE_GAP', detail, ids.length === 1 ? this.#p.symbolsOf(ids[0]!)[0] : undefined);
      },
      alive: (id) => this.#alive(id),
      rotate: () => this.#socket.rotate(),
      drop: (cause) => conn.drop(cause),
    };
  }

  #quote(q: NormalizedQuote, globalKey: number | undefined): void {
    const venue = this.#p.venue;
    let key: string;
    if (globalKey !== undefined) {
      // The same update seen on two connections (a rotation overlap) or repeated: once, in venue order.
      const last = this.#lastSeq.get(q.symbol);
      if (last !== undefined && globalKey <= last) {
        this.#o.metrics?.duplicates.inc({ venue });
        return;
      }
      this.#lastSeq.set(q.symbol, globalKey);
      key = String(globalKey);
    } else {
      key = this.#keys.key(q);
    }
    const now = this.#clock.now();
    const d = this.#o.guard.check(q, now);
    if (d.action === 'unchanged') {
      this.#o.metrics?.unchanged.inc({ venue, symbol: q.symbol });
      return;
    }
    if (d.action === 'hold') {
      this.#hold(d.reason, `${d.detail} (bid ${q.bid} ask ${q.ask} ts ${q.ts})`, q.symbol);
      return;
    }
    if (d.jump !== undefined) {
      this.#o.metrics?.jumpsAccepted.inc({ venue, symbol: q.symbol, how: d.jump });
      this.#log.warn({ venue, symbol: q.symbol, bid: q.bid, ask: q.ask, how: d.jump }, 'price move beyond the band accepted');
    }
    this.#published++;
    this.#o.metrics?.published.inc({ venue, symbol: q.symbol });
    if (this.#o.sink === undefined) {
      this.#o.reference!.record(q.symbol, q.bid, q.ask, now);
      return;
    }
    const tick: TickMessage = {
      venue,
      symbol: q.symbol,
      ts: q.ts,
      bid: q.bid,
      ask: q.ask,
      ...(q.bidSize !== undefined ? { bidSize: q.bidSize } : {}),
      ...(q.askSize !== undefined ? { askSize: q.askSize } : {}),
      ...(globalKey !== undefined ? { venueSeq: globalKey } : {}),
    };
    this.#track(this.#o.sink.publishTick(tick, `${venue}:${q.symbol}:${key}`));
  }

  #resolution(r: { readonly market: string; readonly outcome: string; readonly ts: number }): void {
    const venue = this.#p.venue;
    const refusal = this.#o.markets.checkResolution({ ...r, seq: 1 });
    if (refusal === 'ALREADY_RESOLVED') return; // e.g. Kalshi's `settled` after `determined`
    if (refusal !== undefined) {
      const reason: HoldReason =
        refusal === 'UNKNOWN_OUTCOME' ? 'UNKNOWN_OUTCOME' : refusal === 'UNKNOWN_MARKET' ? 'UNKNOWN_MARKET' : 'MALFORMED_MESSAGE';
      this.#hold(reason, `resolution of ${r.market} to ${r.outcome}: ${refusal}`, undefined);
      return;
    }
    this.#o.markets.resolve(r.market, r.outcome);
    this.#log.info({ venue, market: r.market, outcome: r.outcome, ts: r.ts }, 'market resolved');
    if (this.#o.sink === undefined) return;
    this.#o.metrics?.resolutions.inc({ venue });
    this.#track(this.#o.sink.publishResolution({ venue, market: r.market, outcome: r.outcome, ts: r.ts }));
  }

  #track(p: Promise<{ readonly duplicate: boolean }>): void {
    const venue = this.#p.venue;
    const tracked = p
      .then(
        (ack) => {
          if (ack.duplicate) this.#o.metrics?.duplicates.inc({ venue });
        },
        (err: unknown) => {
          // A top-of-book quote is superseded by the next one: a failed publish is counted and logged, not retried out of order.
          this.#o.metrics?.publishFailures.inc({ venue });
          this.#log.error({ venue, err: (err as Error).message }, 'publish to the market stream failed');
        },
      )
      .finally(() => {
        this.#inFlight.delete(tracked);
        if (this.#inFlight.size <= this.#maxInFlight / 2) this.#socket.resume();
      });
    this.#inFlight.add(tracked);
    if (this.#inFlight.size >= this.#maxInFlight) this.#socket.pause();
  }

  #hold(reason: HoldReason, detail: string, symbol: string | undefined): void {
    const venue = this.#p.venue;
    this.#held.set(reason, (this.#held.get(reason) ?? 0) + 1);
    this.#o.metrics?.held.inc({ venue, symbol: symbol ?? '-', reason });
    const key = `${symbol ?? '-'}|${reason}`;
    const now = this.#clock.now();
    const seen = this.#logged.get(key);
    if (seen !== undefined && now - seen.at < (this.#o.logEveryMs ?? 10_000)) {
      seen.suppressed++;
      return;
    }
    this.#logged.set(key, { at: now, suppressed: 0 });
    this.#log.warn(
      { venue, symbol, reason, detail, ...(seen?.suppressed ? { sinceLastLog: seen.suppressed } : {}) },
      'market data held back',
    );
  }

  #alive(instrumentId: string): void {
    const feed = this.#feeds.get(instrumentId);
    if (feed === undefined) return;
    feed.lastAt = this.#clock.now();
    if (this.#o.metrics !== undefined)
      for (const symbol of this.#p.symbolsOf(instrumentId)) this.#o.metrics.updates.inc({ venue: this.#p.venue, symbol });
    if (!feed.stale) return;
    feed.stale = false;
    for (const symbol of this.#p.symbolsOf(instrumentId)) this.#o.metrics?.stale.set({ venue: this.#p.venue, symbol }, 0);
    this.#log.info({ venue: this.#p.venue, instrument: instrumentId }, 'feed recovered');
  }

  #checkStale(): void {
    const now = this.#clock.now();
    const venue = this.#p.venue;
    const due: string[] = [];
    for (const [id, feed] of this.#feeds) {
      if (now - feed.lastAt <= this.#staleAfter) continue;
      if (!feed.stale) {
        feed.stale = true;
        for (const symbol of this.#p.symbolsOf(id)) this.#o.metrics?.stale.set({ venue, symbol }, 1);
        this.#log.warn({ venue, instrument: id, ageMs: now - feed.lastAt, connected: this.connected }, 'feed stale');
      }
      if (now - feed.resnapshotAt > this.#staleAfter) due.push(id);
    }
    const primary = this.#socket.primaryId;
    const session = primary === undefined ? undefined : this.#sessions.get(primary);
    if (due.length === 0 || session === undefined) return;
    if (session.resnapshot(due, 'stale')) {
      for (const id of due) this.#feeds.get(id)!.resnapshotAt = now;
      this.#o.metrics?.resnapshots.inc({ venue, cause: 'stale' }, due.length);
    }
  }

  #reportAges(): void {
    const now = this.#clock.now();
    for (const [id, feed] of this.#feeds) {
      for (const symbol of this.#p.symbolsOf(id))
        this.#o.metrics?.feedAge.set({ venue: this.#p.venue, symbol }, (now - feed.lastAt) / 1000);
    }
  }

  #onSocketEvent(e: VenueSocketEvent): void {
    const venue = this.#p.venue;
    switch (e.type) {
      case 'open':
        this.#o.metrics?.connected.set({ venue }, 1);
        this.#log.info({ venue, connection: e.connection }, 'venue connected');
        break;
      case 'rotated':
        this.#log.info({ venue, from: e.from, to: e.to }, 'venue connection rotated');
        break;
      case 'closed':
        if (e.cause !== 'shutdown')
          this.#o.metrics?.reconnects.inc({ venue, reason: e.cause.startsWith('dropped_by_handler') ? 'dropped_by_handler' : e.cause });
        if (!this.#socket.connected) this.#o.metrics?.connected.set({ venue }, 0);
        (e.cause === 'shutdown' || e.cause === 'rotated' ? this.#log.info : this.#log.warn).call(
          this.#log,
          { venue, connection: e.connection, cause: e.cause, code: e.code, detail: e.detail, lifetimeMs: e.lifetimeMs },
          'venue connection closed',
        );
        break;
      case 'reconnect-scheduled':
        this.#log.info({ venue, delayMs: e.delayMs, attempt: e.attempt }, 'reconnecting');
        break;
      case 'connecting':
        break;
    }
  }
}
