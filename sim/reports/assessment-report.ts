/**
 * An assessment's report as data: the summary (tier, phase path, dates, final
 * status and the rule that decided it, with its evidence), the trade history,
 * the days, the equity series, performance, risk and compliance. Built from
 * the history read model by a pure function, so the same history (and the
 * same pass-probability estimates) gives the same report.
 */
import type { Tier, Violation } from '../../actors/index.js';
import type { EquitySeries, AssessmentRow, DayRow, PointRow, TradeRow, TransitionRow, ViolationRow } from '../../persistence/index.js';
import { compliance, type Compliance, type ReplaySource } from './compliance.js';
import { performance, type Performance, type TradeFigures } from './performance.js';
import { closestApproaches, closestRule, headroom, type DayEstimate, type RiskFigures } from './risk.js';

/** Trades a report carries itself (the rest: the paged API and the CSV). */
export const REPORT_TRADES = 500;

export interface PhaseStep {
  readonly phaseIndex: number;
  readonly phase: string | null;
  readonly startedAt: number;
  readonly endedAt: number | null;
  /** `passed` for a phase handed over to the next; the final status for the last; `running` while it goes on. */
  readonly outcome: string;
  readonly startBalance: number;
  readonly endBalance: number | null;
}

export interface DecidingRule {
  readonly ruleId: string;
  /** How it decided: a breach, a time limit, the pass conditions, or the trader's own abandonment. */
  readonly kind: 'violation' | 'expiry' | 'pass' | 'abandoned';
  readonly at: number;
  readonly detail: string;
  /** The violation (breach) or expiry evidence, as the engine emitted it. */
  readonly evidence: Violation | Record<string, unknown> | null;
}

export interface ReportSummary {
  readonly tier: { readonly id: string | null; readonly version: number | null; readonly name: string | null };
  readonly status: string | null;
  readonly createdAt: number | null;
  readonly endedAt: number | null;
  readonly startingBalance: number | null;
  readonly finalBalance: number | null;
  readonly phases: readonly PhaseStep[];
  readonly decidingRule: DecidingRule | null;
}

export interface AssessmentReport {
  readonly version: 1;
  readonly assessmentId: string;
  readonly traderId: string | null;
  /** What asked for it: an event type (`assessment.failed`, …) or `request`. */
  readonly trigger: string;
  /** Engine time the report describes the assessment at. */
  readonly asOf: number;
  readonly summary: ReportSummary;
  readonly trades: { readonly count: number; readonly open: number; readonly shown: number; readonly items: readonly TradeRow[] };
  readonly days: readonly DayRow[];
  readonly equity: EquitySeries;
  readonly performance: Performance;
  readonly risk: RiskFigures;
  readonly compliance: Compliance;
}

export interface ReportInput {
  readonly assessment: AssessmentRow;
  readonly tier: Tier | undefined;
  /** Every trade's figures, in order. */
  readonly trades: readonly TradeFigures[];
  /** The newest trades in full (up to {@link REPORT_TRADES}), in order. */
  readonly lastTrades: readonly TradeRow[];
  readonly days: readonly DayRow[];
  readonly points: readonly PointRow[];
  readonly transitions: readonly TransitionRow[];
  readonly violations: readonly ViolationRow[];
  readonly equity: EquitySeries;
  readonly passProbability: readonly DayEstimate[];
  readonly replay: ReplaySource;
  readonly trigger: string;
  readonly asOf: number;
}

/** Build the report (pure). */
export function buildReport(i: ReportInput): AssessmentReport {
  const a = i.assessment;
  const start = i.tier?.phases[0]?.startingBalance ?? i.points[0]?.balance ?? null;
  const from = a.createdAt ?? i.points[0]?.at ?? i.asOf;
  const to = a.endedAt ?? i.asOf;
  const phaseBalance = (k: number): number => i.tier?.phases[k]?.startingBalance ?? start ?? 1;
  const head = headroom(i.equity, i.tier);
  const starts = i.transitions.filter((t) => t.kind === 'started');
  const phaseOf = (t: number): number => {
    let k = 0;
    for (const s of starts) if (s.at <= t) k = s.phaseIndex;
    return k;
  };
  const closest = closestApproaches(head, i.violations, phaseBalance, phaseOf);
  const risk: RiskFigures = {
    headroom: head,
    closest,
    closestRule: closestRule(closest),
    passProbability: i.passProbability,
    method:
      "Headroom: the equity series' lows (at its resolution) minus the floors in force; a violation's own figures where one happened. " +
      "Pass probability: the Monte Carlo simulator from each day's opening state, block bootstrap of the daily results known by then.",
  };
  const shown = i.lastTrades.slice(-REPORT_TRADES);
  return {
    version: 1,
    assessmentId: a.assessmentId,
    traderId: a.traderId,
    trigger: i.trigger,
    asOf: i.asOf,
    summary: {
      tier: { id: a.tierId, version: a.tierVersion, name: i.tier?.name ?? null },
      status: a.status,
      createdAt: a.createdAt,
      endedAt: a.endedAt,
      startingBalance: start,
      finalBalance: i.points.at(-1)?.balance ?? null,
      phases: phasePath(i.transitions, i.days),
      decidingRule: deciding(i),
    },
    trades: { count: i.trades.length, open: i.trades.filter((t) => t.open).length, shown: shown.length, items: shown },
    days: i.days,
    equity: i.equity,
    performance: performance(i.trades, i.days, start ?? 0, from, to),
    risk,
    compliance: compliance(
      a.assessmentId,
      { id: a.tierId ?? '', version: a.tierVersion ?? 0 },
      i.violations,
      i.transitions,
      i.points,
      i.replay,
    ),
  };
}

function phasePath(transitions: readonly TransitionRow[], days: readonly DayRow[]): PhaseStep[] {
  const out: PhaseStep[] = [];
  const endKinds = new Set(['phase-passed', 'passed', 'failed', 'expired', 'abandoned']);
  for (const t of transitions) {
    if (t.kind === 'started') {
      out.push({
        phaseIndex: t.phaseIndex,
        phase: t.phase,
        startedAt: t.at,
        endedAt: null,
        outcome: 'running',
        startBalance: t.balance,
        endBalance: null,
      });
    } else if (endKinds.has(t.kind) && out.length > 0) {
      const last = out.at(-1)!;
      out[out.length - 1] = { ...last, endedAt: t.at, outcome: t.kind === 'phase-passed' ? 'passed' : t.kind, endBalance: t.balance };
    }
  }
  // A running phase's balance so far: its last day's.
  const last = out.at(-1);
  if (last !== undefined && last.endBalance === null) {
    const day = [...days].reverse().find((d) => d.phaseIndex === last.phaseIndex);
    if (day !== undefined) out[out.length - 1] = { ...last, endBalance: day.endBalance };
  }
  return out;
}

function deciding(i: ReportInput): DecidingRule | null {
  const end = [...i.transitions]
    .reverse()
    .find((t) => t.kind === 'failed' || t.kind === 'expired' || t.kind === 'passed' || t.kind === 'abandoned' || t.kind === 'phase-passed');
  if (end === undefined) return null;
  if (end.kind === 'phase-passed') {
    const days = i.days.filter((d) => d.phaseIndex === end.phaseIndex);
    const tradingDays = days.filter((d) => d.tradesOpened > 0).length;
    const next = (JSON.parse(end.detail || '{}') as { nextPhase?: string }).nextPhase ?? 'the next phase';
    return {
      ruleId: 'profit-target',
      kind: 'pass',
      at: end.at,
      evidence: { phase: end.phase, balance: end.balance, tradingDays, days: days.length, nextPhase: next },
      detail: `phase ${end.phase ?? ''} passed with a balance of ${end.balance} after ${tradingDays} trading days; ${next} began`,
    };
  }
  if (end.kind === 'failed') {
    const v = [...i.violations].reverse().find((x) => x.violation.ruleId === end.ruleId && x.at <= end.at) ?? i.violations.at(-1);
    return {
      ruleId: end.ruleId ?? v?.violation.ruleId ?? 'unknown',
      kind: 'violation',
      at: end.at,
      detail: v?.violation.detail ?? '',
      evidence: v?.violation ?? null,
    };
  }
  if (end.kind === 'expired') {
    const expiry = end.detail === '' ? null : (JSON.parse(end.detail) as Record<string, unknown>);
    return { ruleId: end.ruleId ?? 'unknown', kind: 'expiry', at: end.at, detail: String(expiry?.['detail'] ?? ''), evidence: expiry };
  }
  if (end.kind === 'passed') {
    const days = i.days.filter((d) => d.phaseIndex === end.phaseIndex);
    const tradingDays = days.filter((d) => d.tradesOpened > 0).length;
    return {
      ruleId: 'profit-target',
      kind: 'pass',
      at: end.at,
      evidence: { balance: end.balance, tradingDays, days: days.length },
      detail: `every pass condition met with a balance of ${end.balance} after ${tradingDays} trading days`,
    };
  }
  return { ruleId: 'abandoned', kind: 'abandoned', at: end.at, detail: 'the trader abandoned the assessment', evidence: null };
}
