/**
 * Rule meters for the console: how far an assessment's live figures stand
 * from each line its tier draws. Pure functions of the tier's phase rules and
 * the figures, so the page only renders what these return.
 */
import type { Limit, PhaseRules } from '../../actors/index.js';

/** The live figures a meter is measured on. Floors are -Infinity (or null over JSON) when the phase has no such rule. */
export interface Figures {
  readonly startingBalance: number;
  readonly balance: number;
  readonly equity: number;
  readonly dailyFloor: number | null;
  readonly maxLossFloor: number | null;
  readonly dayStartBalance: number;
  readonly tradingDays: number;
}

/** One rule's meter. */
export interface Meter {
  readonly id: 'daily-loss' | 'max-loss' | 'profit-target' | 'min-trading-days';
  readonly label: string;
  /** 0..1: share of the loss allowance still left (loss rules: a full bar is untouched room) or of the way made (targets). */
  readonly fill: number;
  /** The headline figure, e.g. `1,234.00 room left`. */
  readonly value: string;
  /** The line and the limit it comes from. */
  readonly detail: string;
  readonly tone: 'ok' | 'warn' | 'danger' | 'done';
}

const money = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });

/** `12,345.67`; a dash for a missing or infinite figure. */
export function fmtMoney(n: number | null | undefined): string {
  return n === null || n === undefined || !Number.isFinite(n) ? '—' : money.format(n);
}

/** `+12.34` / `−12.34`, with a true minus sign. */
export function fmtSigned(n: number): string {
  if (!Number.isFinite(n)) return '—';
  const s = money.format(Math.abs(n));
  return n > 0 ? `+${s}` : n < 0 ? `\u2212${s}` : s;
}

/** A floor that is in force: finite. */
export function finite(n: number | null | undefined): n is number {
  return typeof n === 'number' && Number.isFinite(n);
}

function amount(limit: Limit, base: number): number {
  return 'pct' in limit ? (base * limit.pct) / 100 : limit.amount;
}

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/** Loss rules: less room is worse; a quarter of the limit left is a warning, less is danger. */
function lossTone(fill: number): Meter['tone'] {
  return fill <= 0.25 ? 'danger' : fill <= 0.5 ? 'warn' : 'ok';
}

/** What a loss meter's bar means, in words: the share of the allowance left, and the line equity must stay above. */
function roomDetail(fill: number, limit: number, floor: number, when: string): string {
  return `${(100 * fill).toFixed(0)}% of the ${fmtMoney(limit)} loss allowed ${when} is left · equity must stay above ${fmtMoney(floor)}`;
}

/** The level the profit target asks for (balance or equity must reach it), or undefined without a target. */
export function targetLevel(rules: PhaseRules | undefined, startingBalance: number): number | undefined {
  const t = rules?.profitTarget;
  return t === undefined ? undefined : startingBalance + amount(t.target, startingBalance);
}

/** The meters of a phase's rules at these figures, in the order a trader reads them. */
export function meters(rules: PhaseRules | undefined, f: Figures): Meter[] {
  const out: Meter[] = [];
  if (rules === undefined) return out;
  const dl = rules.dailyLoss;
  if (dl !== undefined && finite(f.dailyFloor)) {
    // A pct limit is a share of the phase's start, or of the day's base (approximated by the day-start balance).
    const limit = amount(dl.limit, dl.pctOf === 'base' ? f.dayStartBalance : f.startingBalance);
    const room = f.equity - f.dailyFloor;
    const fill = clamp01(room / limit);
    out.push({
      id: 'daily-loss',
      label: `Daily loss (${dl.severity}): room left`,
      fill,
      tone: lossTone(fill),
      value: room > 0 ? `${fmtMoney(room)} room left` : 'no room: breached',
      detail: roomDetail(fill, limit, f.dailyFloor, 'today'),
    });
  }
  const ml = rules.maxLoss;
  if (ml !== undefined && finite(f.maxLossFloor)) {
    const limit = amount(ml.limit, f.startingBalance);
    const room = f.equity - f.maxLossFloor;
    const fill = clamp01(room / limit);
    out.push({
      id: 'max-loss',
      label: `Max loss (${ml.mode}): room left`,
      fill,
      tone: lossTone(fill),
      value: room > 0 ? `${fmtMoney(room)} room left` : 'no room: breached',
      detail: roomDetail(fill, limit, f.maxLossFloor, 'in total'),
    });
  }
  const pt = rules.profitTarget;
  if (pt !== undefined) {
    const goal = amount(pt.target, f.startingBalance);
    const made = (pt.basis === 'equity' ? f.equity : f.balance) - f.startingBalance;
    const fill = clamp01(made / goal);
    out.push({
      id: 'profit-target',
      label: 'Profit target',
      fill,
      tone: made >= goal ? 'done' : 'ok',
      value: `${fmtSigned(made)} of ${fmtMoney(goal)}`,
      detail: `${pt.basis} to ${fmtMoney(f.startingBalance + goal)} · ${(100 * fill).toFixed(1)}%`,
    });
  }
  const md = rules.minTradingDays;
  if (md !== undefined) {
    out.push({
      id: 'min-trading-days',
      label: 'Trading days',
      fill: clamp01(f.tradingDays / md.days),
      tone: f.tradingDays >= md.days ? 'done' : 'ok',
      value: `${f.tradingDays} / ${md.days}`,
      detail: `minimum ${md.days} days with a position opened`,
    });
  }
  return out;
}
