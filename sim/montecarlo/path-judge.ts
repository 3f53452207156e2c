/**
 * The rules, as the live engine applies them, over one simulated path: the
 * same floors, locks, trailing, pass conditions and deadlines as
 * `actors/rules/`, on plain numbers so a worker judges a million paths a
 * second. `sim/test/path-kernel-parity.test.ts` proves it gives the actor's
 * verdicts. One judge is reused for every path of a chunk (no allocation).
 */
import type { CompiledPhase, StartState } from './simulation-spec.js';

/** Outcome codes, in the order of `OUTCOMES`. */
export const PASSED = 0;
export const DAILY_LOSS = 1;
export const MAX_LOSS = 2;
export const PHASE_TIME_LIMIT = 3;
export const INACTIVITY = 4;
export const UNDECIDED = 5;

/** The judge's clock counts minutes from the path's start. */
export const MINUTES_PER_DAY = 1440;

export const MODE_STATIC = 0;
export const MODE_EOD = 1;
export const MODE_INTRADAY = 2;

/** A phase as flat numbers (Infinity / -1 / NaN for absent rules). */
export interface PhaseNumbers {
  readonly start: number;
  readonly targetLevel: number;
  readonly equityTarget: boolean;
  readonly hasDaily: boolean;
  readonly dailyAmount: number;
  readonly dailyPctOfBase: number;
  readonly dailySoft: boolean;
  /** Daily base is the higher of balance and equity. */
  readonly dailyOnEquity: boolean;
  readonly hasMaxLoss: boolean;
  readonly maxLossAmount: number;
  readonly maxLossMode: number;
  readonly lockLevel: number;
  readonly minDays: number;
  readonly minTrades: number;
  readonly consistency: number;
  /** Phase length and inactivity limits in minutes (times are whole minutes, so deadlines compare exactly). */
  readonly maxMinutes: number;
  readonly inactivityMinutes: number;
}

function phaseNumbers(p: CompiledPhase): PhaseNumbers {
  return {
    start: p.startingBalance,
    targetLevel: p.target === null ? Infinity : p.startingBalance + p.target,
    equityTarget: p.targetBasis === 'equity',
    hasDaily: p.daily !== null,
    dailyAmount: p.daily?.amount ?? 0,
    dailyPctOfBase: p.daily?.pctOfBase ?? 0,
    dailySoft: p.daily?.severity === 'soft',
    dailyOnEquity: p.daily?.basis === 'balance-or-equity',
    hasMaxLoss: p.maxLoss !== null,
    maxLossAmount: p.maxLoss?.amount ?? 0,
    maxLossMode:
      p.maxLoss === null
        ? MODE_STATIC
        : p.maxLoss.mode === 'static'
          ? MODE_STATIC
          : p.maxLoss.mode === 'eod-trailing'
            ? MODE_EOD
            : MODE_INTRADAY,
    lockLevel: p.maxLoss?.lockLevel ?? Infinity,
    minDays: p.minTradingDays,
    minTrades: p.minTrades,
    consistency: p.consistency ?? NaN,
    maxMinutes: p.maxDays === null ? Infinity : p.maxDays * MINUTES_PER_DAY,
    inactivityMinutes: p.inactivityDays === null ? Infinity : p.inactivityDays * MINUTES_PER_DAY,
  };
}

export class PathJudge {
  /** The judged phases as flat numbers (read by the generated bootstrap kernel). */
  readonly phases: readonly PhaseNumbers[];
  /** Floors crossed inside a step breach at the floor (parametric paths), not at the step's end. */
  readonly continuous: boolean;
  #p: PhaseNumbers;

  /** Outcome code, or -1 while the path is live. */
  verdict = -1;
  /** Time (minutes from the path start) of the verdict. */
  verdictAt = NaN;
  phaseIndex = 0;
  balance = 0;
  dailyFloor = -Infinity;
  maxLossFloor = -Infinity;
  highWater = 0;
  floorLocked = false;
  locked = false;
  tradingDays = 0;
  trades = 0;
  tradedToday = false;
  todayPnl = 0;
  todayHasPnl = false;
  bestPastDay = -Infinity;
  phaseStartedAt = 0;
  lastActivityAt = 0;
  /** P&L realized by the last trade (at the breach when one cut it short). */
  realized = 0;

  constructor(phases: readonly CompiledPhase[], continuous: boolean) {
    if (phases.length === 0) throw new RangeError('a path judge needs at least one phase');
    this.phases = phases.map(phaseNumbers);
    this.continuous = continuous;
    this.#p = this.phases[0]!;
  }

  /** The current phase's starting balance. */
  get phaseStart(): number {
    return this.#p.start;
  }

  /** Start a path: a fresh first phase at time 0, or a live assessment's state. */
  reset(from: StartState | undefined): void {
    this.verdict = -1;
    this.verdictAt = NaN;
    this.realized = 0;
    if (from === undefined) {
      this.locked = false;
      this.#startPhase(0, 0);
      return;
    }
    const p = this.phases[from.phaseIndex]!;
    this.phaseIndex = from.phaseIndex;
    this.#p = p;
    this.balance = from.balance;
    this.dailyFloor = p.hasDaily ? from.dailyFloor : -Infinity;
    this.maxLossFloor = p.hasMaxLoss ? from.maxLossFloor : -Infinity;
    this.highWater = from.highWater;
    this.floorLocked = from.floorLocked;
    this.locked = from.lockedToday;
    this.tradingDays = from.tradingDays;
    this.trades = from.trades;
    this.tradedToday = from.tradedToday;
    this.todayHasPnl = from.todayPnl !== null;
    this.todayPnl = from.todayPnl ?? 0;
    this.bestPastDay = from.pastDayPnl.length === 0 ? -Infinity : Math.max(...from.pastDayPnl);
    // Ages count back from now, which is `dayFraction` into path day 0.
    const now = Math.round((from.dayFraction ?? 0) * MINUTES_PER_DAY);
    this.phaseStartedAt = now - Math.round(from.daysElapsed * MINUTES_PER_DAY);
    this.lastActivityAt = now - Math.round(from.daysSinceActivity * MINUTES_PER_DAY);
  }

  /** The trading day rolls (the engine's reset): new daily floor, EOD trailing, unlock. */
  rollDay(openPnl: number): void {
    const p = this.#p;
    if (p.hasDaily) {
      // The engine's base: prior day-end balance, or the higher of balance and equity.
      const base = p.dailyOnEquity && openPnl > 0 ? this.balance + openPnl : this.balance;
      this.dailyFloor = base - (p.dailyPctOfBase > 0 ? (base * p.dailyPctOfBase) / 100 : p.dailyAmount);
    }
    if (p.maxLossMode === MODE_EOD && p.hasMaxLoss) {
      if (this.balance > this.highWater) this.highWater = this.balance;
      this.#trail();
    }
    if (this.todayHasPnl && this.todayPnl > this.bestPastDay) this.bestPastDay = this.todayPnl;
    this.todayPnl = 0;
    this.todayHasPnl = false;
    this.tradedToday = false;
    this.locked = false;
  }

  /** Judge the deadlines at minute `t`; true when the path has ended. */
  clockAt(t: number): boolean {
    if (this.verdict >= 0) return true;
    const p = this.#p;
    const inactiveAt = this.lastActivityAt + p.inactivityMinutes;
    const limitAt = this.phaseStartedAt + p.maxMinutes;
    // The engine fires deadlines in time order: the earlier one ends the path (inactivity on a tie).
    if (t >= inactiveAt && inactiveAt <= limitAt) this.#end(INACTIVITY, t);
    else if (t >= limitAt) this.#end(PHASE_TIME_LIMIT, t);
    return this.verdict >= 0;
  }

  /** Whether a trade may open now. */
  get canTrade(): boolean {
    return this.verdict < 0 && !this.locked;
  }

  /** Sizing base: the phase's starting balance, or the balance (compound). */
  base(compound: boolean): number {
    return compound ? this.balance : this.#p.start;
  }

  /**
   * A position opens at `t`. True when the open itself passed the phase: with
   * an equity target already met, the trade or day it adds can complete the
   * minimum counts, and the engine passes (and flattens) at once.
   */
  open(t: number): boolean {
    this.lastActivityAt = t;
    this.trades++;
    if (!this.tradedToday) {
      this.tradedToday = true;
      this.tradingDays++;
    }
    if (this.#p.equityTarget && this.#passConditions(0, this.balance)) {
      this.realized = 0;
      this.#passPhase(t);
      return true;
    }
    return false;
  }

  /**
   * Equity moved through open P&L between `lo` and `hi` since the last mark.
   * True when the trade ended here (a breach or an equity-target pass);
   * `realized` then holds its P&L.
   */
  mark(lo: number, hi: number, t: number): boolean {
    const p = this.#p;
    const b = this.balance;
    if (p.maxLossMode === MODE_INTRADAY && p.hasMaxLoss && b + hi > this.highWater) {
      this.highWater = b + hi;
      this.#trail();
    }
    const maxHit = b + lo < this.maxLossFloor;
    const dailyHit = b + lo < this.dailyFloor;
    if (maxHit || dailyHit) {
      // A continuous path crosses the higher floor first; one tick jumping past both is judged in rule order.
      const dailyFirst = dailyHit && (!maxHit || (this.continuous && this.dailyFloor > this.maxLossFloor));
      const floor = dailyFirst ? this.dailyFloor : this.maxLossFloor;
      this.realized = this.continuous ? floor - b : lo;
      this.balance = b + this.realized;
      this.#book(this.realized);
      if (!dailyFirst) this.#end(MAX_LOSS, t);
      else if (!p.dailySoft) this.#end(DAILY_LOSS, t);
      else this.locked = true;
      return true;
    }
    if (this.continuous && p.equityTarget && b + hi >= p.targetLevel) {
      const open = p.targetLevel - b;
      if (this.#passConditions(open, b + open)) {
        this.realized = open;
        this.balance = b + open;
        this.#book(open);
        this.#passPhase(t);
        return true;
      }
    }
    return false;
  }

  /** A position is flattened by an expiry: its P&L is booked, nothing else is judged. */
  settle(pnl: number): void {
    this.realized = pnl;
    this.balance += pnl;
    this.#book(pnl);
  }

  /** The position closes with `pnl`; then the pass conditions are judged. */
  close(pnl: number, t: number): void {
    this.realized = pnl;
    this.balance += pnl;
    this.#book(pnl);
    if (this.#passConditions(0, this.balance)) this.#passPhase(t);
  }

  #book(pnl: number): void {
    if (pnl === 0) return;
    this.todayPnl += pnl;
    this.todayHasPnl = true;
  }

  #passConditions(open: number, value: number): boolean {
    const p = this.#p;
    if (value < p.targetLevel || this.locked) return false;
    if (this.tradingDays < p.minDays || this.trades < p.minTrades) return false;
    if (!Number.isNaN(p.consistency)) {
      const total = this.balance + open - p.start;
      if (total <= 0) return false;
      const today = this.todayHasPnl ? this.todayPnl + open : open;
      const best = this.todayHasPnl || open !== 0 ? Math.max(this.bestPastDay, today) : Math.max(this.bestPastDay, 0);
      if (best / total > p.consistency) return false;
    }
    return true;
  }

  #passPhase(t: number): void {
    const next = this.phaseIndex + 1;
    // Passing the last judged phase, or into one without a target (funded), is the pass.
    if (next >= this.phases.length || this.phases[next]!.targetLevel === Infinity) {
      this.#end(PASSED, t);
      return;
    }
    this.#startPhase(next, t);
  }

  #startPhase(index: number, t: number): void {
    const p = this.phases[index]!;
    this.phaseIndex = index;
    this.#p = p;
    this.balance = p.start;
    this.dailyFloor = p.hasDaily ? p.start - (p.dailyPctOfBase > 0 ? (p.start * p.dailyPctOfBase) / 100 : p.dailyAmount) : -Infinity;
    this.maxLossFloor = p.hasMaxLoss ? p.start - p.maxLossAmount : -Infinity;
    this.highWater = p.start;
    this.floorLocked = p.maxLossMode === MODE_STATIC;
    this.tradingDays = 0;
    this.trades = 0;
    this.tradedToday = false;
    this.todayPnl = 0;
    this.todayHasPnl = false;
    this.bestPastDay = -Infinity;
    this.phaseStartedAt = t;
    this.lastActivityAt = t;
  }

  /** Move a trailing floor up to `highWater − limit`, never down, stopping at the lock level. */
  #trail(): void {
    if (this.floorLocked) return;
    const p = this.#p;
    const candidate = Math.min(this.highWater - p.maxLossAmount, p.lockLevel);
    if (candidate > this.maxLossFloor) this.maxLossFloor = candidate;
    if (this.maxLossFloor >= p.lockLevel) this.floorLocked = true;
  }

  #end(outcome: number, t: number): void {
    this.verdict = outcome;
    this.verdictAt = t;
  }
}
