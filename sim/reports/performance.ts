/**
 * Performance figures of an assessment from its closed round trips and its
 * trading days. Pure arithmetic with stated conventions; a NumPy computation
 * of the same figures on the same trades checks it
 * (sim/test/report-metrics-numpy.test.ts).
 *
 * Conventions:
 * - A trade is a closed round trip; its P&L is net of its fees. A win is
 *   P&L > 0, a loss P&L < 0 (a trade at exactly 0 is neither).
 * - Daily returns: one per trading day (reset to reset, per phase), the day's
 *   realized P&L with fees over its opening balance; a quiet day is 0.
 *   Sharpe = mean / sample standard deviation (n − 1) × √365; Sortino = mean
 *   / downside deviation × √365, the downside deviation being
 *   √(Σ min(r, 0)² / n) over all n days (target 0). Risk-free rate 0; 365
 *   because resets come every calendar day. Null with fewer than 2 days or
 *   no dispersion (no downside, for Sortino).
 * - Max drawdown: on the closed-trade balance curve (the first phase's
 *   starting balance, plus each trade's P&L in the order they closed), the
 *   largest fall from a running peak, in money and as a share of that peak;
 *   its duration runs from the peak to the first close back at or above it
 *   (or to the last close, not recovered).
 * - Exposure: the share of the assessment's time (first event to last) with
 *   at least one position open (overlapping trades counted once).
 */
import type { DayRow, TradeRow } from '../../persistence/index.js';

/** Calendar days per year for annualizing daily figures. */
export const TRADING_DAYS_PER_YEAR = 365;

export interface DrawdownFigures {
  /** Largest fall from a peak, in account currency (≥ 0). */
  readonly amount: number;
  /** That fall over the peak it fell from. */
  readonly pct: number;
  readonly peakAt: number | null;
  readonly troughAt: number | null;
  /** First close back at the peak, or null when it never recovered. */
  readonly recoveredAt: number | null;
  /** Peak to recovery (or to the last close), ms. */
  readonly durationMs: number;
}

export interface Performance {
  readonly convention: string;
  readonly trades: number;
  readonly openTrades: number;
  readonly wins: number;
  readonly losses: number;
  /** Sum of closed trades' P&L (fees included). */
  readonly netPnl: number;
  /** Realized P&L of every day (fees of still-open trades included). */
  readonly realizedPnl: number;
  readonly grossProfit: number;
  readonly grossLoss: number;
  readonly fees: number;
  readonly winRate: number | null;
  /** Gross profit over gross loss; null without a loss. */
  readonly profitFactor: number | null;
  /** Mean P&L per trade. */
  readonly expectancy: number | null;
  readonly avgWin: number | null;
  /** Mean P&L of the losses (negative). */
  readonly avgLoss: number | null;
  readonly largestWin: number | null;
  readonly largestLoss: number | null;
  readonly bestDay: { readonly phaseIndex: number; readonly dayIndex: number; readonly startedAt: number; readonly pnl: number } | null;
  readonly worstDay: { readonly phaseIndex: number; readonly dayIndex: number; readonly startedAt: number; readonly pnl: number } | null;
  readonly days: number;
  readonly dailyMean: number | null;
  readonly dailyStd: number | null;
  readonly sharpe: number | null;
  readonly sortino: number | null;
  readonly maxDrawdown: DrawdownFigures;
  /** Share of the time with a position open, 0..1. */
  readonly exposure: number;
  readonly avgHoldingMs: number | null;
  readonly tradesPerDay: number | null;
}

const CONVENTION =
  "Trades are closed round trips, P&L net of fees. Daily returns: realized P&L (fees included) over the day's opening balance, " +
  'one per reset-to-reset day and phase, quiet days 0. Sharpe = mean / sample std (n−1) × √365; Sortino = mean / √(Σmin(r,0)²/n) × √365; ' +
  "risk-free rate 0. Max drawdown on the closed-trade balance curve, from a running peak. Exposure: time with a position open over the assessment's time.";

/** Daily returns in day order (see the module's conventions). */
export function dailyReturns(days: readonly DayRow[]): number[] {
  return days.map((d) => (d.startBalance > 0 ? d.realizedPnl / d.startBalance : 0));
}

/** What the figures need of a trade. */
export type TradeFigures = Pick<TradeRow, 'no' | 'open' | 'openedAt' | 'closedAt' | 'netPnl' | 'fees'>;

/** Figures of `trades` (all of the assessment's, open ones ignored but counted) and `days`, over `[from, to]`. */
export function performance(
  trades: readonly TradeFigures[],
  days: readonly DayRow[],
  startingBalance: number,
  from: number,
  to: number,
): Performance {
  const closed = trades.filter((t) => !t.open && t.closedAt !== null).sort((a, b) => a.closedAt! - b.closedAt! || a.no - b.no);
  const pnl = closed.map((t) => t.netPnl);
  const winsList = pnl.filter((x) => x > 0);
  const lossList = pnl.filter((x) => x < 0);
  const grossProfit = sum(winsList);
  const grossLoss = -sum(lossList);
  const n = pnl.length;
  const r = dailyReturns(days);
  const mean = r.length > 0 ? sum(r) / r.length : null;
  const std = r.length >= 2 ? Math.sqrt(sum(r.map((x) => (x - mean!) ** 2)) / (r.length - 1)) : null;
  const downside = r.length >= 2 ? Math.sqrt(sum(r.map((x) => Math.min(x, 0) ** 2)) / r.length) : null;
  const ann = Math.sqrt(TRADING_DAYS_PER_YEAR);
  let best: Performance['bestDay'] = null;
  let worst: Performance['worstDay'] = null;
  for (const d of days) {
    const x = { phaseIndex: d.phaseIndex, dayIndex: d.dayIndex, startedAt: d.startedAt, pnl: d.realizedPnl };
    if (best === null || d.realizedPnl > best.pnl) best = x;
    if (worst === null || d.realizedPnl < worst.pnl) worst = x;
  }
  const span = Math.max(0, to - from);
  return {
    convention: CONVENTION,
    trades: n,
    openTrades: trades.length - closed.length,
    wins: winsList.length,
    losses: lossList.length,
    netPnl: sum(pnl),
    realizedPnl: sum(days.map((d) => d.realizedPnl)),
    grossProfit,
    grossLoss,
    fees: sum(trades.map((t) => t.fees)),
    winRate: n > 0 ? winsList.length / n : null,
    profitFactor: grossLoss > 0 ? grossProfit / grossLoss : null,
    expectancy: n > 0 ? sum(pnl) / n : null,
    avgWin: winsList.length > 0 ? grossProfit / winsList.length : null,
    avgLoss: lossList.length > 0 ? -grossLoss / lossList.length : null,
    largestWin: winsList.length > 0 ? winsList.reduce((a, b) => Math.max(a, b)) : null,
    largestLoss: lossList.length > 0 ? lossList.reduce((a, b) => Math.min(a, b)) : null,
    bestDay: best,
    worstDay: worst,
    days: days.length,
    dailyMean: mean,
    dailyStd: std,
    sharpe: mean !== null && std !== null && std > 0 ? (mean / std) * ann : null,
    sortino: mean !== null && downside !== null && downside > 0 ? (mean / downside) * ann : null,
    maxDrawdown: drawdown(closed, startingBalance),
    exposure: span > 0 ? Math.min(1, openTime(trades, to) / span) : 0,
    avgHoldingMs: n > 0 ? sum(closed.map((t) => t.closedAt! - t.openedAt)) / n : null,
    tradesPerDay: days.length > 0 ? n / days.length : null,
  };
}

/** The closed-trade balance curve's largest fall from a running peak. */
export function drawdown(closed: readonly TradeFigures[], startingBalance: number): DrawdownFigures {
  let balance = startingBalance;
  let peak = startingBalance;
  let peakAt: number | null = closed[0]?.openedAt ?? null;
  let best: DrawdownFigures = { amount: 0, pct: 0, peakAt: null, troughAt: null, recoveredAt: null, durationMs: 0 };
  let open: { peak: number; peakAt: number | null; amount: number; pct: number; troughAt: number } | undefined;
  const finish = (recoveredAt: number | null, end: number): void => {
    if (open === undefined) return;
    if (open.amount > best.amount) {
      best = {
        amount: open.amount,
        pct: open.pct,
        peakAt: open.peakAt,
        troughAt: open.troughAt,
        recoveredAt,
        durationMs: end - (open.peakAt ?? end),
      };
    }
    open = undefined;
  };
  for (const t of closed) {
    balance += t.netPnl;
    if (balance >= peak) {
      finish(t.closedAt, t.closedAt!);
      peak = balance;
      peakAt = t.closedAt;
      continue;
    }
    const amount = peak - balance;
    if (open === undefined) open = { peak, peakAt, amount, pct: peak > 0 ? amount / peak : 0, troughAt: t.closedAt! };
    else if (amount > open.amount) {
      open.amount = amount;
      open.pct = peak > 0 ? amount / peak : 0;
      open.troughAt = t.closedAt!;
    }
  }
  finish(null, closed.at(-1)?.closedAt ?? 0);
  return best;
}

/** Time with at least one trade open, up to `to` (open trades run to it). */
function openTime(trades: readonly TradeFigures[], to: number): number {
  const spans = trades
    .map((t) => [t.openedAt, t.closedAt ?? to] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  let total = 0;
  let curStart = -Infinity;
  let curEnd = -Infinity;
  for (const [a, b] of spans) {
    if (a > curEnd) {
      if (curEnd > curStart) total += curEnd - curStart;
      curStart = a;
      curEnd = b;
    } else curEnd = Math.max(curEnd, b);
  }
  if (curEnd > curStart) total += curEnd - curStart;
  return total;
}

function sum(xs: readonly number[]): number {
  let s = 0;
  for (const x of xs) s += x;
  return s;
}
