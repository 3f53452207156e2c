/**
 * The market-data JetStream stream and the publisher the ingestors use to put
 * normalized ticks and resolutions on it. Payloads are msgpack maps; every
 * message carries a `Nats-Msg-Id` so that a restarted ingestor republishing
 * what it already sent is dropped by the stream's duplicate window.
 */
import { createHash } from 'node:crypto';
import { Encoder } from '@msgpack/msgpack';
import { nanos } from '@nats-io/transport-node';
import {
  JetStreamApiCodes,
  JetStreamApiError,
  StorageType,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
  type StreamConfig,
  type StreamInfo,
} from '@nats-io/jetstream';
import type { Instrument } from '../../actors/index.js';
import { isValidTimestamp, MarketRegistry, parseInstrument, validateQuoteShape, type MarketInputRefusal } from '../../engine/index.js';
import { CLOCK_SUBJECT, instrumentSubject, marketSubjects, resolutionSubject, tickSubject, withNamespace } from './subjects.js';

/** Options of {@link ensureMarketStream} (and {@link ensureStream}). */
export interface StreamOptions {
  /** Stream name. @default 'MARKET' */
  readonly name?: string;
  /** Subjects the stream captures. @default marketSubjects() i.e. `['ticks.>', 'resolutions.>', 'instruments.>', 'clock.beat']` */
  readonly subjects?: readonly string[];
  /** Where the stream stores messages. @default 'file' */
  readonly storage?: 'file' | 'memory';
  /** Window in which a repeated `Nats-Msg-Id` is dropped, ms. @default 120_000 (2 minutes, the server default) */
  readonly duplicateWindowMs?: number;
  /** How long messages are kept, ms; 0 keeps them until other limits apply. @default 0 */
  readonly maxAge?: number;
}

/** JetStream API error code: stream name already in use with a different configuration. */
const STREAM_NAME_EXISTS = 10058;

/** Stream name used when none is given. */
export const DEFAULT_MARKET_STREAM = 'MARKET';
/** @see StreamOptions.duplicateWindowMs */
export const DEFAULT_DUPLICATE_WINDOW_MS = 120_000;

/**
 * Creates the stream, or updates it when it exists with a different
 * configuration; a no-op when it already matches. Safe to call from every
 * process at start-up, concurrently included.
 */
export async function ensureStream(
  jsm: JetStreamManager,
  options: StreamOptions & { readonly name: string; readonly subjects: readonly string[] },
): Promise<StreamInfo> {
  const storage = options.storage === 'memory' ? StorageType.Memory : StorageType.File;
  const maxAgeMs = options.maxAge ?? 0;
  const windowMs = options.duplicateWindowMs ?? DEFAULT_DUPLICATE_WINDOW_MS;
  // The server refuses a duplicate window longer than max_age.
  const duplicateWindowMs = maxAgeMs > 0 ? Math.min(windowMs, maxAgeMs) : windowMs;
  const wanted: Partial<StreamConfig> & { name: string } = {
    name: options.name,
    subjects: [...options.subjects],
    storage,
    max_age: nanos(maxAgeMs),
    duplicate_window: nanos(duplicateWindowMs),
  };
  const existing = await streamInfo(jsm, options.name);
  if (existing === undefined) {
    try {
      return await jsm.streams.add(wanted);
    } catch (err) {
      // Someone else created it in between: fall through to the update path.
      if (!(err instanceof JetStreamApiError) || err.code !== STREAM_NAME_EXISTS) throw err;
      const raced = await streamInfo(jsm, options.name);
      if (raced === undefined) throw err;
      return reconcile(jsm, raced, wanted);
    }
  }
  return reconcile(jsm, existing, wanted);
}

async function reconcile(jsm: JetStreamManager, info: StreamInfo, wanted: Partial<StreamConfig> & { name: string }): Promise<StreamInfo> {
  const c = info.config;
  if (c.storage !== wanted.storage) {
    throw new Error(`stream ${wanted.name} exists with storage ${c.storage}, wanted ${wanted.storage}; storage cannot be changed in place`);
  }
  const same =
    sameSet(c.subjects ?? [], wanted.subjects ?? []) && c.max_age === wanted.max_age && c.duplicate_window === wanted.duplicate_window;
  if (same) return info;
  const { name: _name, storage: _storage, ...update } = wanted;
  return jsm.streams.update(wanted.name, update);
}

async function streamInfo(jsm: JetStreamManager, name: string): Promise<StreamInfo | undefined> {
  try {
    return await jsm.streams.info(name);
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return undefined;
    throw err;
  }
}

const sameSet = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((s) => b.includes(s));

/** {@link ensureStream} with the market-data defaults (`MARKET`, `ticks.>`, `resolutions.>`, `instruments.>`, `clock.beat`). */
export function ensureMarketStream(jsm: JetStreamManager, options: StreamOptions = {}): Promise<StreamInfo> {
  return ensureStream(jsm, { ...options, name: options.name ?? DEFAULT_MARKET_STREAM, subjects: options.subjects ?? marketSubjects() });
}

/** A tick as an ingestor publishes it: a `NormalizedQuote` (any venue string) fits. */
export interface TickMessage {
  readonly venue: string;
  readonly symbol: string;
  /** Exchange time, ms since epoch. */
  readonly ts: number;
  readonly bid: number;
  readonly ask: number;
  readonly bidSize?: number | undefined;
  readonly askSize?: number | undefined;
  /** The venue's own sequence number; preferred over `ts` in the msg id. */
  readonly venueSeq?: number | undefined;
}

/** A market resolution as an ingestor publishes it. */
export interface ResolutionMessage {
  readonly venue: string;
  readonly market: string;
  readonly outcome: string;
  readonly ts: number;
}

/**
 * Wire payload of a tick (msgpack map). `seq` is absent: the stream sequence
 * is the engine's order.
 */
export interface TickPayload {
  readonly symbol: string;
  readonly ts: number;
  readonly bid: number;
  readonly ask: number;
  readonly bidSize?: number | undefined;
  readonly askSize?: number | undefined;
  readonly venue: string;
  readonly venueSeq?: number | undefined;
}

/** Wire payload of a resolution (msgpack map). */
export interface ResolutionPayload {
  readonly market: string;
  readonly outcome: string;
  readonly ts: number;
  readonly venue: string;
}

/** Dedupe id of a tick: `<venue>:<symbol>:<venueSeq>` when the venue numbers its messages, else `<venue>:<symbol>:<ts>`. */
export function tickMsgId(tick: Pick<TickMessage, 'venue' | 'symbol' | 'ts' | 'venueSeq'>): string {
  return `${tick.venue}:${tick.symbol}:${tick.venueSeq ?? tick.ts}`;
}

/** Dedupe id of a resolution: `<venue>:<market>:resolved` (a market resolves once). */
export function resolutionMsgId(r: Pick<ResolutionMessage, 'venue' | 'market'>): string {
  return `${r.venue}:${r.market}:resolved`;
}

/**
 * Dedupe id of an instrument definition: `instrument:<symbol>:<digest>`, so
 * the same definition published twice inside the window is stored once, and a
 * changed one is not mistaken for it (the reader refuses it as a conflict).
 */
export function instrumentMsgId(inst: Instrument): string {
  return `instrument:${inst.symbol}:${createHash('sha256')
    .update(JSON.stringify([inst.kind, inst.venue, inst.minQty, inst.market ?? null, inst.outcome ?? null, inst.closesAt ?? null]))
    .digest('hex')
    .slice(0, 16)}`;
}

/** A tick, resolution or clock beat refused before it was published: the stream never sees it. */
export class InvalidMarketInputError extends Error {
  readonly code = 'INVALID_MARKET_INPUT';
  readonly reason: MarketInputRefusal;
  constructor(reason: MarketInputRefusal, message: string) {
    super(`${reason}: ${message}`);
    this.name = 'InvalidMarketInputError';
    this.reason = reason;
  }
}

export interface TickPublisherOptions {
  /** Subject namespace (see `withNamespace`). @default '' (none) */
  readonly namespace?: string;
  /** Called for each publish the stream acknowledged as a duplicate (already stored within the window). */
  readonly onDuplicate?: (msgId: string, ack: PubAck) => void;
  /** Publish ack timeout, ms. @default the JetStream client's */
  readonly timeoutMs?: number;
  /**
   * Instruments the engine knows: a tick of another symbol, a quote invalid
   * for its kind (a binary share outside 0..1), a resolution of an unknown
   * market or outcome, is refused before publishing.
   * @default none: only kind-independent checks (finite, not negative, bid ≤ ask, integer time, sizes ≥ 0)
   */
  readonly instruments?: Iterable<Instrument>;
}

/** Publishes ticks and resolutions to the market stream with dedupe ids. */
export class TickPublisher {
  readonly #js: JetStreamClient;
  readonly #namespace: string;
  readonly #onDuplicate: TickPublisherOptions['onDuplicate'];
  readonly #timeoutMs: number | undefined;
  readonly #encoder = new Encoder({ ignoreUndefined: true });
  readonly #registry: MarketRegistry | undefined;
  readonly #refused = new Map<MarketInputRefusal, number>();
  #published = 0;
  #duplicates = 0;

  constructor(js: JetStreamClient, options: TickPublisherOptions = {}) {
    this.#js = js;
    this.#namespace = options.namespace ?? '';
    this.#onDuplicate = options.onDuplicate;
    this.#timeoutMs = options.timeoutMs;
    this.#registry = options.instruments === undefined ? undefined : new MarketRegistry(options.instruments);
  }

  /** Inputs refused before publishing, by reason. */
  get refused(): ReadonlyMap<MarketInputRefusal, number> {
    return this.#refused;
  }

  /** Messages the stream stored. */
  get published(): number {
    return this.#published;
  }

  /** Publishes the stream reported as duplicates (not stored again). */
  get duplicates(): number {
    return this.#duplicates;
  }

  /**
   * Publishes one tick; resolves with the ack (`duplicate` true if the stream
   * already had it). An invalid tick rejects with {@link InvalidMarketInputError}
   * and is not published. `msgId` replaces {@link tickMsgId} (a venue
   * connector derives it from what every connection of the venue sees alike).
   */
  publishTick(tick: TickMessage, options: { readonly msgId?: string } = {}): Promise<PubAck> {
    const refusal = this.#registry === undefined ? validateQuoteShape(tick) : this.#registry.checkTick({ ...tick, seq: 1 });
    if (refusal !== undefined) return this.#refuse(refusal, `tick ${tick.symbol} ts ${tick.ts} bid ${tick.bid} ask ${tick.ask}`);
    const payload: TickPayload = {
      symbol: tick.symbol,
      ts: tick.ts,
      bid: tick.bid,
      ask: tick.ask,
      bidSize: tick.bidSize,
      askSize: tick.askSize,
      venue: tick.venue,
      venueSeq: tick.venueSeq,
    };
    return this.#publish(tickSubject(tick.venue, tick.symbol, this.#namespace), payload, options.msgId ?? tickMsgId(tick));
  }

  /**
   * Publishes a clock beat at `time` (epoch ms). Its msg id is the time, so
   * several engines beating the same second store it once.
   */
  publishClock(time: number): Promise<PubAck> {
    if (!isValidTimestamp(time) || time <= 0) return this.#refuse('INVALID_TIMESTAMP', `clock time ${time}`);
    return this.#publish(withNamespace(CLOCK_SUBJECT, this.#namespace), { time }, `clock:${time}`);
  }

  /**
   * Publishes an instrument's definition on `instruments.<venue>.<symbol>`,
   * ahead of its ticks: a node reading the stream learns the instrument at
   * this point of the market order, and ticks of it after this point pass its
   * door. Refused (`INVALID_INSTRUMENT`, `INSTRUMENT_CONFLICT`) like a tick
   * when it does not parse or redefines a symbol this publisher knows
   * differently; accepted, the publisher knows it too.
   */
  publishInstrument(definition: Instrument): Promise<PubAck> {
    const parsed = parseInstrument(definition);
    if (!parsed.ok)
      return this.#refuse('INVALID_INSTRUMENT', `instrument ${String((definition as { symbol?: unknown }).symbol)}: ${parsed.reason}`);
    const inst = parsed.instrument;
    const refusal = this.#registry?.checkInstrument(inst);
    if (refusal !== undefined) return this.#refuse(refusal, `instrument ${inst.symbol} differs from the definition in force`);
    this.#registry?.add(inst);
    return this.#publish(instrumentSubject(inst.venue, inst.symbol, this.#namespace), inst, instrumentMsgId(inst));
  }

  /** Publishes one market resolution; an invalid one rejects with {@link InvalidMarketInputError}, unpublished. */
  publishResolution(resolution: ResolutionMessage): Promise<PubAck> {
    const refusal =
      this.#registry === undefined
        ? isValidTimestamp(resolution.ts)
          ? undefined
          : 'INVALID_TIMESTAMP'
        : this.#registry.checkResolution({ ...resolution, seq: 1 });
    if (refusal !== undefined) return this.#refuse(refusal, `resolution of ${resolution.market} to ${resolution.outcome}`);
    const payload: ResolutionPayload = {
      market: resolution.market,
      outcome: resolution.outcome,
      ts: resolution.ts,
      venue: resolution.venue,
    };
    return this.#publish(resolutionSubject(resolution.venue, resolution.market, this.#namespace), payload, resolutionMsgId(resolution));
  }

  #refuse(reason: MarketInputRefusal, message: string): Promise<never> {
    this.#refused.set(reason, (this.#refused.get(reason) ?? 0) + 1);
    return Promise.reject(new InvalidMarketInputError(reason, message));
  }

  async #publish(subject: string, payload: object, msgID: string): Promise<PubAck> {
    // encode() copies out of the encoder's reused buffer, so the bytes stay valid while in flight.
    const data = this.#encoder.encode(payload);
    const ack = await this.#js.publish(subject, data, this.#timeoutMs === undefined ? { msgID } : { msgID, timeout: this.#timeoutMs });
    if (ack.duplicate) {
      this.#duplicates++;
      this.#onDuplicate?.(msgID, ack);
    } else {
      this.#published++;
    }
    return ack;
  }
}
