/**
 * Test harness: a one-shard kernel fed input by input, with the events of
 * every input kept so tests can assert on what one input did.
 */
import { DEFAULT_INSTRUMENTS, figures, type Command, type Figures, type Instrument, type Tier } from '../index.js';
import { ShardKernel, type OutputEvent, type IndexMode } from '../../engine/index.js';

/** Tuesday 2 January 2024, 09:00 UTC: a weekday, well away from any reset. */
export const T0 = Date.UTC(2024, 0, 2, 9, 0);
export const HOUR = 3_600_000;
export const DAY = 86_400_000;
/** Midnight UTC after {@link T0}: the first reset of a UTC tier with the default 00:00 reset. */
export const RESET1 = Date.UTC(2024, 0, 3);

export type EventOf<T extends OutputEvent['type']> = Extract<OutputEvent, { type: T }>;

/** Events of one type, narrowed. */
export function ofType<T extends OutputEvent['type']>(events: readonly OutputEvent[], type: T): EventOf<T>[] {
  return events.filter((e): e is EventOf<T> => e.type === type);
}

/** The types of these events, in order (handy for asserting sequences). */
export function types(events: readonly OutputEvent[]): string[] {
  return events.map((e) => e.type);
}

export interface HarnessOptions {
  readonly mode?: IndexMode;
  readonly start?: number;
  /** Assessments to create at the start, all on the test's tier. @default ['a1'] */
  readonly assessments?: readonly string[];
  readonly instruments?: readonly Instrument[];
  readonly beforeStep?: (assessmentId: string) => void;
}

type PlaceFields = Omit<Extract<Command, { kind: 'place' }>, 'kind' | 'clientOrderId'> & { readonly clientOrderId?: string };

/** A kernel with one tier and its assessments, driven one input at a time. */
export class Harness {
  readonly kernel: ShardKernel;
  /** Every event so far, in output order. */
  readonly log: OutputEvent[] = [];
  #i = 0;
  #seq = 0;
  #cid = 0;
  #now: number;

  readonly tier: Tier;

  constructor(tier: Tier, opts: HarnessOptions = {}) {
    this.tier = tier;
    this.kernel = new ShardKernel({
      mode: opts.mode ?? 'indexed',
      tiers: [tier],
      instruments: opts.instruments ?? DEFAULT_INSTRUMENTS,
      ...(opts.beforeStep === undefined ? {} : { beforeStep: opts.beforeStep }),
    });
    this.#now = opts.start ?? T0;
    this.#apply({ type: 'clock', time: this.#now });
    for (const id of opts.assessments ?? ['a1'])
      this.#apply({ type: 'create', assessmentId: id, traderId: `trader-${id}`, tierId: tier.id });
  }

  get now(): number {
    return this.#now;
  }

  /** The sequence number the next tick will carry. */
  get nextSeq(): number {
    return this.#seq + 1;
  }

  #apply(input: Parameters<ShardKernel['apply']>[0]['input']): OutputEvent[] {
    this.kernel.apply({ i: this.#i++, input });
    const out = this.kernel.drainEvents();
    this.log.push(...out);
    return out;
  }

  /** Advance the engine clock to `time`. */
  clock(time: number): OutputEvent[] {
    this.#now = time;
    return this.#apply({ type: 'clock', time });
  }

  /** A top-of-book tick with the next sequence number, stamped now unless `ts` says otherwise. */
  tick(symbol: string, bid: number, ask: number, sizes: { bidSize?: number; askSize?: number; ts?: number } = {}): OutputEvent[] {
    return this.#apply({ type: 'tick', seq: ++this.#seq, ts: this.#now, symbol, bid, ask, ...sizes });
  }

  command(command: Command, assessmentId = 'a1'): OutputEvent[] {
    return this.#apply({ type: 'command', assessmentId, command });
  }

  /** Place an order; the client order id defaults to a fresh `c<n>`. */
  place(fields: PlaceFields, assessmentId = 'a1'): OutputEvent[] {
    return this.command({ kind: 'place', clientOrderId: fields.clientOrderId ?? `c${++this.#cid}`, ...fields }, assessmentId);
  }

  buy(symbol: string, qty: number, extra: Partial<PlaceFields> = {}, assessmentId = 'a1'): OutputEvent[] {
    return this.place({ symbol, side: 'buy', type: 'market', qty, ...extra }, assessmentId);
  }

  sell(symbol: string, qty: number, extra: Partial<PlaceFields> = {}, assessmentId = 'a1'): OutputEvent[] {
    return this.place({ symbol, side: 'sell', type: 'market', qty, ...extra }, assessmentId);
  }

  resolve(market: string, outcome: string): OutputEvent[] {
    return this.#apply({ type: 'resolution', seq: ++this.#seq, ts: this.#now, market, outcome });
  }

  /** Live state of an assessment (a copy). */
  state(assessmentId = 'a1') {
    const s = this.kernel.state(assessmentId);
    if (s === undefined) throw new Error(`no assessment ${assessmentId}`);
    return s;
  }

  /** Balance, equity and exposure at the current marks. */
  figures(assessmentId = 'a1'): Figures {
    return figures(this.state(assessmentId), this.kernel.book, this.tier.leverage);
  }

  /** Events of one type seen so far. */
  all<T extends OutputEvent['type']>(type: T): EventOf<T>[] {
    return ofType(this.log, type);
  }
}

/** Round money to cents, so float sums compare exactly. */
export function cents(x: number): number {
  return Math.round(x * 100) / 100;
}
