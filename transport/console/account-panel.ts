/// <reference lib="dom" />
/**
 * The console's account panel (console.ts draws it once per animation
 * frame): the stream position, the figures, the chart's levels, positions,
 * rule meters and violations of the assessment open, from its state and its
 * last delta.
 */
import type { AssessmentState, PositionEvidence, Tier, Violation } from '../../actors/index.js';
import type { StateDelta } from '../../engine/index.js';
import type { EquityChart, Level } from './chart.js';
import { finite, fmtMoney, fmtSigned, meters, targetLevel } from './rules.js';
import { byId, pnlClass, renderMeters, renderPositions, renderViolations, setText } from './view.js';

/** What the panel is drawn from. */
export interface AccountView {
  readonly state: AssessmentState | undefined;
  readonly delta: StateDelta | undefined;
  readonly violations: readonly Violation[];
  readonly tier: Tier | undefined;
  /** The stream's position (epoch and last seq applied), when subscribed. */
  readonly position: { readonly epoch: number; readonly seq: number } | undefined;
  readonly gaps: number;
}

/** Draws the account panel; `closePosition` is the positions table's close button. */
export function drawAccount(v: AccountView, chart: EquityChart, closePosition: (symbol: string) => void): void {
  const { state: s, delta: d, position: pos, tier } = v;
  setText('epoch', pos === undefined ? '—' : String(pos.epoch));
  setText('seq', pos === undefined ? '—' : String(pos.seq));
  setText('gaps', String(v.gaps));
  if (s === undefined) return;
  const phase = tier?.phases[s.phaseIndex];
  const startingBalance = d?.startingBalance ?? s.startingBalance;
  const balance = d?.balance ?? s.balance;
  const equity = d?.equity ?? s.balance;
  const status = d?.status ?? s.status;
  const positions: readonly PositionEvidence[] =
    d?.positions ??
    Object.values(s.positions).map((p) => ({ symbol: p.symbol, qty: p.qty, avgEntry: p.avgEntry, mark: NaN, unrealizedPnl: NaN }));
  const dailyFloor = d?.dailyFloor ?? s.rules.dailyFloor;
  const maxLossFloor = d?.maxLossFloor ?? s.rules.maxLossFloor;
  const open = equity - balance;
  const ret = (100 * (equity - startingBalance)) / startingBalance;

  setText('acct-id', s.id);
  setText('acct-tier', `${tier?.name ?? s.tierId} · ${phase?.name ?? d?.phase ?? ''}`);
  setText('acct-status', status, `badge ${status}`);
  setText('balance', fmtMoney(balance));
  setText('equity', fmtMoney(equity), `num big ${pnlClass(equity - startingBalance)}`);
  setText('open-pnl', fmtSigned(open), `num ${pnlClass(open)}`);
  setText('return', `${ret >= 0 ? '+' : '\u2212'}${Math.abs(ret).toFixed(2)}%`, `num ${pnlClass(ret)}`);
  setText('working', String(d?.workingOrders ?? Object.keys(s.orders).length));
  setText(
    'daily-room',
    finite(dailyFloor) ? fmtMoney(equity - dailyFloor) : '—',
    `num ${finite(dailyFloor) && equity < dailyFloor ? 'neg' : ''}`,
  );
  setText(
    'maxloss-room',
    finite(maxLossFloor) ? fmtMoney(equity - maxLossFloor) : '—',
    `num ${finite(maxLossFloor) && equity < maxLossFloor ? 'neg' : ''}`,
  );
  setText('locked', s.lockedBy === undefined ? '' : `trading locked by ${s.lockedBy}`);

  const target = targetLevel(phase?.rules, startingBalance);
  const levels: Level[] = [];
  if (finite(dailyFloor)) levels.push({ label: 'daily floor', value: dailyFloor, tone: 'warn' });
  if (finite(maxLossFloor)) levels.push({ label: 'max-loss floor', value: maxLossFloor, tone: 'danger' });
  if (target !== undefined) levels.push({ label: 'target', value: target, tone: 'target' });
  chart.setLevels(levels);
  chart.render();

  renderPositions(byId('positions-body'), positions, closePosition);
  renderMeters(
    byId('meters'),
    meters(phase?.rules, {
      startingBalance,
      balance,
      equity,
      dailyFloor,
      maxLossFloor,
      dayStartBalance: s.dayStartBalance,
      tradingDays: s.tradingDays.length,
    }),
  );
  renderViolations(byId('violations'), v.violations, s.expiry);
  const risk = phase?.rules.riskPerTrade;
  setText(
    'ticket-hint',
    risk === undefined ? '' : `Risk per trade ≤ ${risk.maxPct}% of balance${risk.requireStopLoss ? ' · stop loss required' : ''}`,
  );
}
