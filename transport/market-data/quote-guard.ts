/**
 * Data quality at the door: every quote a connector normalized passes here
 * before it may be published. A quote is either published, skipped as
 * unchanged (the same top as the last one published), or held back with a
 * {@link HoldReason}; nothing is dropped without a decision the caller counts.
 * Policy and defaults: docs/market-data.md ("What the door lets through").
 */
import type { Instrument } from '../../actors/index.js';
import type { HoldReason } from './data-quality.js';
import type { NormalizedQuote } from './normalized-quote.js';

/** A price another venue quotes for the same engine symbol (see {@link ReferencePrices}). */
export interface ReferencePrice {
  /** Mid price. */
  readonly mid: number;
  /** When it was last confirmed (clock ms). */
  readonly at: number;
}

/** Where a guard reads another venue's price of a symbol. */
export interface ReferenceSource {
  reference(symbol: string): ReferencePrice | undefined;
}

/** Options of {@link QuoteGuard}. */
export interface QuoteGuardOptions {
  /** The instruments the engine knows (the same list the node runs with). */
  readonly instruments: Iterable<Instrument>;
  /** A quote whose venue time is older than this is `STALE_TIMESTAMP`. @default 10_000 */
  readonly maxQuoteAgeMs?: number;
  /** A quote whose venue time is ahead of the clock by more than this is `FUTURE_TIMESTAMP`. @default 2_000 */
  readonly maxClockSkewMs?: number;
  /** Largest move of a linear mid from its reference, as a fraction (0.05 = 5 %). @default 0.05 */
  readonly linearBand?: number;
  /** Largest move of a binary share's mid from its reference, in price (0..1). @default 0.25 */
  readonly binaryBand?: number;
  /**
   * Consecutive quotes at a new level (each within the band of the first) that
   * confirm a jump: the last of them is published and becomes the reference.
   * @default 3
   */
  readonly jumpConfirmations?: number;
  /** Publish a locked top (bid = ask) instead of holding it. @default false */
  readonly allowLocked?: boolean;
  /** Another venue's prices: a jump within the band of a fresh reference is published at once. @default none */
  readonly reference?: ReferenceSource;
  /** A reference older than this is not used. @default 5_000 */
  readonly referenceMaxAgeMs?: number;
}

/** The guard's answer for one quote. */
export type GuardDecision =
  | { readonly action: 'publish'; readonly jump?: 'confirmed' | 'matches-reference' | 'first-quote-matches-reference' }
  | { readonly action: 'unchanged' }
  | { readonly action: 'hold'; readonly reason: HoldReason; readonly detail: string };

interface Good {
  readonly mid: number;
  readonly key: string;
  readonly ts: number;
}
interface Pending {
  readonly mid: number;
  count: number;
}

const mid = (q: { bid: number; ask: number }): number => (q.bid + q.ask) / 2;
const contentKey = (q: NormalizedQuote): string => `${q.bid}|${q.ask}|${q.bidSize ?? ''}|${q.askSize ?? ''}`;

/**
 * The door's policy for one connector; keeps the last good quote of each
 * symbol (the jump reference) and each symbol's unconfirmed new level.
 */
export class QuoteGuard {
  readonly #instruments = new Map<string, Instrument>();
  readonly #maxAge: number;
  readonly #maxSkew: number;
  readonly #linearBand: number;
  readonly #binaryBand: number;
  readonly #confirmations: number;
  readonly #allowLocked: boolean;
  readonly #reference: ReferenceSource | undefined;
  readonly #referenceMaxAge: number;
  readonly #good = new Map<string, Good>();
  readonly #pending = new Map<string, Pending>();

  constructor(options: QuoteGuardOptions) {
    for (const i of options.instruments) this.#instruments.set(i.symbol, i);
    this.#maxAge = options.maxQuoteAgeMs ?? 10_000;
    this.#maxSkew = options.maxClockSkewMs ?? 2_000;
    this.#linearBand = options.linearBand ?? 0.05;
    this.#binaryBand = options.binaryBand ?? 0.25;
    this.#confirmations = Math.max(1, options.jumpConfirmations ?? 3);
    this.#allowLocked = options.allowLocked ?? false;
    this.#reference = options.reference;
    this.#referenceMaxAge = options.referenceMaxAgeMs ?? 5_000;
  }

  /** The instrument of an engine symbol, if the engine knows it. */
  instrument(symbol: string): Instrument | undefined {
    return this.#instruments.get(symbol);
  }

  /** The last good (published) mid of a symbol. */
  lastGood(symbol: string): number | undefined {
    return this.#good.get(symbol)?.mid;
  }

  /**
   * Start from a quote already on the stream (e.g. the last one before a
   * restart, or another connector's): it becomes the jump reference and an
   * identical next quote is `unchanged`.
   */
  seed(quote: NormalizedQuote): void {
    const inst = this.#instruments.get(quote.symbol);
    if (inst === undefined || !Number.isFinite(quote.bid) || !Number.isFinite(quote.ask) || quote.bid > quote.ask) return;
    this.#good.set(quote.symbol, { mid: mid(quote), key: contentKey(quote), ts: quote.ts });
  }

  /**
   * Decide one quote at clock time `now`. A `publish` decision is recorded as
   * the symbol's last good quote: call it only for quotes that will be
   * published if it says so.
   */
  check(q: NormalizedQuote, now: number): GuardDecision {
    const inst = this.#instruments.get(q.symbol);
    if (inst === undefined) return hold('UNKNOWN_SYMBOL', `${q.symbol} is not an instrument the engine knows`);
    if (!Number.isFinite(q.bid) || !Number.isFinite(q.ask)) return hold('PRICE_NOT_FINITE', `bid ${q.bid} ask ${q.ask}`);
    if (inst.kind === 'binary' ? q.bid < 0 || q.ask > 1 : q.bid <= 0) {
      return hold('PRICE_OUT_OF_RANGE', `bid ${q.bid} ask ${q.ask} for a ${inst.kind} instrument`);
    }
    if (q.bid > q.ask) return hold('CROSSED_BOOK', `bid ${q.bid} above ask ${q.ask}`);
    if (q.bid === q.ask && !this.#allowLocked) return hold('LOCKED_BOOK', `bid = ask = ${q.bid}`);
    for (const s of [q.bidSize, q.askSize])
      if (s !== undefined && !(Number.isFinite(s) && s >= 0)) return hold('INVALID_SIZE', `size ${s}`);
    if (!Number.isSafeInteger(q.ts)) return hold('STALE_TIMESTAMP', `ts ${q.ts} is not a time`);
    if (now - q.ts > this.#maxAge) return hold('STALE_TIMESTAMP', `venue time ${now - q.ts} ms old (limit ${this.#maxAge})`);
    if (q.ts - now > this.#maxSkew) return hold('FUTURE_TIMESTAMP', `venue time ${q.ts - now} ms ahead (limit ${this.#maxSkew})`);
    const key = contentKey(q);
    const good = this.#good.get(q.symbol);
    if (good?.key === key) {
      this.#pending.delete(q.symbol);
      return { action: 'unchanged' };
    }
    const m = mid(q);
    const ref = this.#freshReference(q.symbol, now);
    if (good === undefined) {
      // The first quote: nothing of ours to compare with; another venue's price if there is one.
      if (ref === undefined || this.#within(inst, m, ref.mid))
        return this.#publish(q, m, key, ref === undefined ? undefined : 'first-quote-matches-reference');
      return this.#jump(inst, q, m, key, `first quote mid ${m} vs ${ref.mid} on the reference venue`);
    }
    if (this.#within(inst, m, good.mid)) {
      this.#pending.delete(q.symbol);
      return this.#publish(q, m, key);
    }
    if (ref !== undefined && this.#within(inst, m, ref.mid)) return this.#publish(q, m, key, 'matches-reference');
    return this.#jump(inst, q, m, key, `mid ${m} vs last good ${good.mid}${ref === undefined ? '' : ` and reference ${ref.mid}`}`);
  }

  #jump(inst: Instrument, q: NormalizedQuote, m: number, key: string, detail: string): GuardDecision {
    const pending = this.#pending.get(q.symbol);
    if (pending !== undefined && this.#within(inst, m, pending.mid)) pending.count++;
    else this.#pending.set(q.symbol, { mid: m, count: 1 });
    const count = this.#pending.get(q.symbol)!.count;
    if (count >= this.#confirmations) {
      this.#pending.delete(q.symbol);
      return this.#publish(q, m, key, 'confirmed');
    }
    return hold('PRICE_JUMP', `${detail}: beyond the band (${count} of ${this.#confirmations} quotes at the new level)`);
  }

  #publish(
    q: NormalizedQuote,
    m: number,
    key: string,
    jump?: 'confirmed' | 'matches-reference' | 'first-quote-matches-reference',
  ): GuardDecision {
    this.#good.set(q.symbol, { mid: m, key, ts: q.ts });
    return jump === undefined ? { action: 'publish' } : { action: 'publish', jump };
  }

  #within(inst: Instrument, m: number, reference: number): boolean {
    if (inst.kind === 'binary') return Math.abs(m - reference) <= this.#binaryBand;
    return reference > 0 && Math.abs(m / reference - 1) <= this.#linearBand;
  }

  #freshReference(symbol: string, now: number): ReferencePrice | undefined {
    const ref = this.#reference?.reference(symbol);
    if (ref === undefined || !Number.isFinite(ref.mid) || now - ref.at > this.#referenceMaxAge) return undefined;
    return ref;
  }
}

function hold(reason: HoldReason, detail: string): GuardDecision {
  return { action: 'hold', reason, detail };
}

/**
 * The last good mids of another connector, as a {@link ReferenceSource}: a
 * connector running in reference mode records here instead of publishing.
 */
export class ReferencePrices implements ReferenceSource {
  readonly #prices = new Map<string, ReferencePrice>();

  /** Record a symbol's mid at clock time `at`. */
  record(symbol: string, bid: number, ask: number, at: number): void {
    this.#prices.set(symbol, { mid: (bid + ask) / 2, at });
  }

  reference(symbol: string): ReferencePrice | undefined {
    return this.#prices.get(symbol);
  }
}
