/**
 * Turns one market-stream message into an engine input, or skips it with a
 * reason: the validation every door applies to market data (see
 * `JetStreamTickSource`), kept apart from the consuming so each has one job.
 * Ticks in the usual shape are read straight from the msgpack bytes
 * (`TickPayloadReader`); anything else takes the generic decoder.
 */
import { Decoder } from '@msgpack/msgpack';
import {
  isValidTimestamp,
  parseInstrument,
  validateQuoteShape,
  type MarketInput,
  type MarketInputRefusal,
  type MarketRegistry,
} from '../../engine/index.js';
import { parseMarketSubject } from './subjects.js';
import { TickPayloadReader, utf8Exact } from './tick-payload.js';

/** A message skipped as malformed. */
export interface MalformedMessage {
  /** Stream sequence of the message. */
  readonly seq: number;
  readonly subject: string;
  /** Why it was skipped, e.g. `bad msgpack: …`, `missing or invalid field "bid"`, `unknown symbol "X"`. */
  readonly reason: string;
  /**
   * The class of the reason, for a metric label: `malformed`, `duplicate_seq`,
   * or a market-input refusal code in lower case (`unknown_symbol`,
   * `price_out_of_range`, `crossed_quote`, …).
   */
  readonly kind: MalformedKind;
  /** The market-input refusal code, when the message decoded but its content is refused. */
  readonly code?: MarketInputRefusal;
}

/** Metric label of a skipped message. */
export type MalformedKind = 'malformed' | 'duplicate_seq' | Lowercase<MarketInputRefusal>;

/** What the decoder reads of a stream message. */
export interface MarketMessage {
  readonly subject: string;
  readonly seq: number;
  readonly data: Uint8Array;
}

/** What a {@link MarketMessageDecoder} accepts; see `JetStreamTickSourceOptions`. */
export interface MarketMessageDecoderOptions {
  /** Subject namespace. @default '' */
  readonly namespace?: string;
  /** Symbols accepted. @default any */
  readonly symbols?: ReadonlySet<string> | undefined;
  /** Markets whose resolutions are accepted. @default any */
  readonly markets?: ReadonlySet<string> | undefined;
  /** Instruments known so far; definitions read are added to it. @default none: only kind-independent checks */
  readonly registry?: MarketRegistry | undefined;
  /** Called once per skipped message. */
  readonly report: (message: MalformedMessage) => void;
}

/** Decodes and checks market-stream messages, one at a time, in stream order. */
export class MarketMessageDecoder {
  readonly #namespace: string;
  readonly #symbols: ReadonlySet<string> | undefined;
  readonly #markets: ReadonlySet<string> | undefined;
  readonly #registry: MarketRegistry | undefined;
  readonly #report: (message: MalformedMessage) => void;
  readonly #decoder = new Decoder();
  /** Parsed subjects: a stream has few distinct subjects and parsing one costs more than decoding its payload. */
  readonly #subjects = new Map<string, ReturnType<typeof parseMarketSubject>>();
  /** A tick subject's symbol as UTF-8, for {@link TickPayloadReader} (none when the symbol does not survive a round trip). */
  readonly #symbolBytes = new Map<string, Uint8Array | null>();
  readonly #payload = new TickPayloadReader();
  #malformed = 0;

  constructor(options: MarketMessageDecoderOptions) {
    this.#namespace = options.namespace ?? '';
    this.#symbols = options.symbols;
    this.#markets = options.markets;
    this.#registry = options.registry;
    this.#report = options.report;
  }

  /** Messages skipped so far. */
  get malformed(): number {
    return this.#malformed;
  }

  /** The message as an engine input, or `undefined` when it is skipped (counted and reported). */
  decode(m: MarketMessage): MarketInput | undefined {
    const subject = m.subject;
    let parsed = this.#subjects.get(subject);
    if (parsed === undefined && !this.#subjects.has(subject)) {
      parsed = parseMarketSubject(subject, this.#namespace);
      if (this.#subjects.size < 100_000) {
        this.#subjects.set(subject, parsed);
        if (parsed?.kind === 'tick') this.#symbolBytes.set(subject, utf8Exact(parsed.symbol));
      }
    }
    if (parsed?.kind === 'tick') {
      // The common case, read without decoding the payload into an object; anything unusual takes the generic path below.
      const symbolBytes = this.#symbolBytes.get(subject);
      const r = this.#payload;
      if (symbolBytes != null && r.read(m.data, symbolBytes)) {
        const tick: MutableTick = { type: 'tick', seq: m.seq, ts: r.ts, symbol: parsed.symbol, bid: r.bid, ask: r.ask };
        if (!Number.isNaN(r.bidSize)) tick.bidSize = r.bidSize;
        if (!Number.isNaN(r.askSize)) tick.askSize = r.askSize;
        return this.#checkedTick(m, tick);
      }
    }
    if (parsed === undefined)
      return this.#reject(
        m,
        'subject is not ticks.<venue>.<symbol>, resolutions.<venue>.<market>, instruments.<venue>.<symbol> or clock.beat',
      );
    let body: unknown;
    try {
      body = this.#decoder.decode(m.data);
    } catch (err) {
      return this.#reject(m, `bad msgpack: ${err instanceof Error ? err.message : String(err)}`);
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) return this.#reject(m, 'payload is not a msgpack map');
    const p = body as Record<string, unknown>;
    if (parsed.kind === 'clock') {
      const time = p['time'];
      if (!isFiniteNumber(time)) return this.#reject(m, 'missing or invalid field "time"');
      if (!isValidTimestamp(time) || time <= 0)
        return this.#refuse(m, 'INVALID_TIMESTAMP', `clock time ${time} is not a positive integer of ms`);
      return { type: 'clock', time, seq: m.seq };
    }
    if (parsed.kind === 'instrument') return this.#instrument(m, p, parsed.symbol);
    const ts = p['ts'];
    if (!isFiniteNumber(ts)) return this.#reject(m, 'missing or invalid field "ts"');

    if (parsed.kind === 'tick') {
      const symbol = p['symbol'];
      if (typeof symbol !== 'string' || symbol === '') return this.#reject(m, 'missing or invalid field "symbol"');
      if (symbol !== parsed.symbol) return this.#reject(m, `payload symbol "${symbol}" does not match subject symbol "${parsed.symbol}"`);
      if (this.#symbols !== undefined && !this.#symbols.has(symbol)) return this.#refuse(m, 'UNKNOWN_SYMBOL', `unknown symbol "${symbol}"`);
      const bid = p['bid'];
      const ask = p['ask'];
      if (!isFiniteNumber(bid)) return this.#reject(m, 'missing or invalid field "bid"');
      if (!isFiniteNumber(ask)) return this.#reject(m, 'missing or invalid field "ask"');
      const bidSize = p['bidSize'];
      const askSize = p['askSize'];
      if (bidSize !== undefined && bidSize !== null && !isFiniteNumber(bidSize)) return this.#reject(m, 'invalid field "bidSize"');
      if (askSize !== undefined && askSize !== null && !isFiniteNumber(askSize)) return this.#reject(m, 'invalid field "askSize"');
      const tick: MutableTick = { type: 'tick', seq: m.seq, ts, symbol, bid, ask };
      if (isFiniteNumber(bidSize)) tick.bidSize = bidSize;
      if (isFiniteNumber(askSize)) tick.askSize = askSize;
      return this.#checkedTick(m, tick);
    }

    const market = p['market'];
    const outcome = p['outcome'];
    if (typeof market !== 'string' || market === '') return this.#reject(m, 'missing or invalid field "market"');
    if (market !== parsed.market) return this.#reject(m, `payload market "${market}" does not match subject market "${parsed.market}"`);
    if (this.#markets !== undefined && !this.#markets.has(market)) return this.#refuse(m, 'UNKNOWN_MARKET', `unknown market "${market}"`);
    if (typeof outcome !== 'string' || outcome === '') return this.#reject(m, 'missing or invalid field "outcome"');
    const resolution = { type: 'resolution', seq: m.seq, ts, market, outcome } as const;
    // A second resolution of a market is the engine's to refuse: it alone knows every earlier one.
    const refusal =
      this.#registry === undefined ? (isValidTimestamp(ts) ? undefined : 'INVALID_TIMESTAMP') : this.#registry.checkResolution(resolution);
    if (refusal !== undefined) return this.#refuse(m, refusal, `resolution of "${market}" to "${outcome}" refused (${refusal})`);
    return resolution;
  }

  /** A tick whose fields have their types: refused if its symbol is not accepted or its quote is invalid. */
  #checkedTick(m: MarketMessage, tick: MutableTick): MarketInput | undefined {
    const { symbol, ts, bid, ask } = tick;
    if (this.#symbols !== undefined && !this.#symbols.has(symbol)) return this.#refuse(m, 'UNKNOWN_SYMBOL', `unknown symbol "${symbol}"`);
    const refusal = this.#registry === undefined ? validateQuoteShape(tick) : this.#registry.checkTick(tick);
    if (refusal === 'UNKNOWN_SYMBOL') return this.#refuse(m, refusal, `unknown symbol "${symbol}"`);
    if (refusal !== undefined) {
      return this.#refuse(
        m,
        refusal,
        `invalid quote (${refusal}): ts ${ts} bid ${bid} ask ${ask}${tick.bidSize === undefined ? '' : ` bidSize ${tick.bidSize}`}${tick.askSize === undefined ? '' : ` askSize ${tick.askSize}`}`,
      );
    }
    return tick;
  }

  /**
   * An instrument definition: parsed with the tape's schema, its symbol the
   * subject's, and a known symbol only with the definition in force. Known
   * from here on, its ticks pass this door; the engine learns it at the same
   * point of the order, so replays agree.
   */
  #instrument(m: MarketMessage, p: Record<string, unknown>, symbol: string): MarketInput | undefined {
    const parsed = parseInstrument(p);
    if (!parsed.ok) return this.#refuse(m, 'INVALID_INSTRUMENT', `invalid instrument: ${parsed.reason}`);
    const inst = parsed.instrument;
    if (inst.symbol !== symbol) return this.#reject(m, `payload symbol "${inst.symbol}" does not match subject symbol "${symbol}"`);
    if (this.#symbols !== undefined && !this.#symbols.has(inst.symbol))
      return this.#refuse(m, 'UNKNOWN_SYMBOL', `instrument "${inst.symbol}" is not among the accepted symbols`);
    const refusal = this.#registry?.checkInstrument(inst);
    if (refusal !== undefined) return this.#refuse(m, refusal, `instrument "${inst.symbol}" differs from the definition in force`);
    this.#registry?.add(inst);
    return { type: 'instrument', instrument: inst, seq: m.seq };
  }

  /** Skip a message whose content a market-input check refused. */
  #refuse(m: MarketMessage, code: MarketInputRefusal, reason: string): undefined {
    this.#malformed++;
    this.#report({ seq: m.seq, subject: m.subject, reason, kind: code.toLowerCase() as Lowercase<MarketInputRefusal>, code });
    return undefined;
  }

  #reject(m: MarketMessage, reason: string): undefined {
    this.#malformed++;
    this.#report({ seq: m.seq, subject: m.subject, reason, kind: 'malformed' });
    return undefined;
  }
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

type MutableTick = { type: 'tick'; seq: number; ts: number; symbol: string; bid: number; ask: number; bidSize?: number; askSize?: number };
