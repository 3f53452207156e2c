/**
 * The report's performance figures against an independent NumPy computation
 * on the same fixed trades and days: net P&L, win rate, profit factor,
 * expectancy, average win and loss, largest win and loss, best and worst day,
 * Sharpe and Sortino on daily returns (as the convention states), the max
 * drawdown with its duration, exposure and trades per day. Needs python3 with
 * NumPy (CI installs it, and there the test never skips).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { test } from 'node:test';
import seedrandom from 'seedrandom';
import type { DayRow, TradeRow } from '../../persistence/index.js';
import { performance } from '../reports/performance.js';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
if (!hasNumpy && process.env.CI === 'true') throw new Error('CI needs python3 with NumPy (apt-get install python3-numpy)');

const NUMPY = `
import json, sys, numpy as np
d = json.load(sys.stdin)
trades = sorted([t for t in d["trades"] if not t["open"]], key=lambda t: (t["closedAt"], t["no"]))
net = np.array([t["netPnl"] for t in trades], dtype=np.float64)
wins, losses = net[net > 0], net[net < 0]
r = np.array([x["realizedPnl"] / x["startBalance"] for x in d["days"]], dtype=np.float64)
bal = d["start"] + np.cumsum(net)
peaks = np.maximum.accumulate(np.concatenate([[d["start"]], bal]))[1:]
peaks = np.maximum(peaks, d["start"])
dd = peaks - bal
k = int(np.argmax(dd))
# The peak's time: the close that set it (the first trade's open for the starting balance).
times = [t["closedAt"] for t in trades]
peak_value = peaks[k]
peak_at = trades[0]["openedAt"]
for i in range(k):
    if bal[i] == peak_value and bal[i] >= max([d["start"]] + list(bal[:i])):
        peak_at = times[i]
rec = [i for i in range(k + 1, len(bal)) if bal[i] >= peak_value]
end = times[rec[0]] if rec else times[-1]
spans = sorted([(t["openedAt"], t["closedAt"] if t["closedAt"] is not None else d["to"]) for t in d["trades"]])
covered, cs, ce = 0, None, None
for a, b in spans:
    if ce is None or a > ce:
        if ce is not None: covered += ce - cs
        cs, ce = a, b
    else:
        ce = max(ce, b)
if ce is not None: covered += ce - cs
days_pnl = np.array([x["realizedPnl"] for x in d["days"]])
print(json.dumps({
  "netPnl": float(net.sum()), "winRate": float((net > 0).mean()), "profitFactor": float(wins.sum() / -losses.sum()),
  "expectancy": float(net.mean()), "avgWin": float(wins.mean()), "avgLoss": float(losses.mean()), "largestWin": float(wins.max()), "largestLoss": float(losses.min()),
  "bestDay": float(days_pnl.max()), "worstDay": float(days_pnl.min()), "dailyMean": float(r.mean()), "dailyStd": float(r.std(ddof=1)),
  "sharpe": float(r.mean() / r.std(ddof=1) * np.sqrt(365)), "sortino": float(r.mean() / np.sqrt((np.minimum(r, 0) ** 2).mean()) * np.sqrt(365)),
  "ddAmount": float(dd[k]), "ddPct": float(dd[k] / peaks[k]), "ddDuration": float(end - peak_at), "ddRecovered": bool(rec),
  "exposure": float(covered / (d["to"] - d["from"])), "tradesPerDay": float(len(net) / len(d["days"])), "fees": float(sum(t["fees"] for t in d["trades"])),
}))
`;

function close(a: number | null, b: number, what: string): void {
  assert.ok(a !== null && Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)), `${what}: ${a} vs NumPy ${b}`);
}

/** Fixed trades: 400 round trips over 30 days, overlapping, some open at the end. */
function fixture(): { trades: TradeRow[]; days: DayRow[]; start: number; from: number; to: number } {
  const rng = seedrandom('report-metrics');
  const start = 100_000;
  const from = Date.UTC(2025, 2, 3);
  const DAY = 86_400_000;
  const trades: TradeRow[] = [];
  for (let no = 1; no <= 400; no++) {
    const openedAt = from + Math.floor(rng() * 29 * DAY);
    const open = no > 396;
    const closedAt = open ? null : openedAt + Math.floor(rng() * 6 * 3_600_000) + 60_000;
    const gross = Math.round((rng() - 0.47) * 2_000 * 100) / 100;
    const fees = Math.round(rng() * 30 * 100) / 100;
    trades.push({
      assessmentId: 'a',
      no,
      phaseIndex: 0,
      symbol: 'BTC-USD',
      side: rng() < 0.5 ? 'long' : 'short',
      open,
      maxQty: 1,
      entryQty: 1,
      entryPrice: 60_000,
      exitQty: open ? 0 : 1,
      exitPrice: open ? null : 60_100,
      openedAt,
      closedAt,
      grossPnl: open ? 0 : gross,
      fees,
      netPnl: open ? -fees : gross - fees,
      closedBy: open ? null : 'order',
      fills: 2,
      stopLoss: null,
      takeProfit: null,
      dailyFloor: 95_000,
      maxLossFloor: 90_000,
      balanceAtOpen: start,
    });
  }
  trades.push({ ...trades[0]!, no: 401, openedAt: from + DAY, closedAt: from + DAY + 1, grossPnl: 0, fees: 0, netPnl: 0 }); // a scratch: neither win nor loss
  const days: DayRow[] = [];
  let balance = start;
  for (let i = 0; i < 30; i++) {
    const pnl = i % 7 === 6 ? 0 : Math.round((rng() - 0.45) * 3_000 * 100) / 100;
    days.push({
      assessmentId: 'a',
      phaseIndex: 0,
      dayIndex: i,
      startedAt: from + i * DAY,
      endedAt: from + (i + 1) * DAY,
      startBalance: balance,
      startEquity: balance,
      dailyFloor: balance - 5_000,
      maxLossFloor: 90_000,
      realizedPnl: pnl,
      fees: 0,
      fills: 0,
      tradesOpened: 0,
      endBalance: balance + pnl,
    });
    balance += pnl;
  }
  return { trades, days, start, from, to: from + 30 * DAY };
}

test('performance figures equal an independent NumPy computation on the same trades and days', {
  skip: hasNumpy ? false : 'python3 with NumPy is not installed',
}, () => {
  const f = fixture();
  const n = JSON.parse(execFileSync('python3', ['-c', NUMPY], { input: JSON.stringify(f), encoding: 'utf8' })) as Record<
    string,
    number | boolean
  >;
  const p = performance(f.trades, f.days, f.start, f.from, f.to);
  const num = (k: string): number => n[k] as number;
  close(p.netPnl, num('netPnl'), 'net P&L');
  close(p.winRate, num('winRate'), 'win rate');
  close(p.profitFactor, num('profitFactor'), 'profit factor');
  close(p.expectancy, num('expectancy'), 'expectancy');
  close(p.avgWin, num('avgWin'), 'average win');
  close(p.avgLoss, num('avgLoss'), 'average loss');
  close(p.largestWin, num('largestWin'), 'largest win');
  close(p.largestLoss, num('largestLoss'), 'largest loss');
  close(p.bestDay?.pnl ?? null, num('bestDay'), 'best day');
  close(p.worstDay?.pnl ?? null, num('worstDay'), 'worst day');
  close(p.dailyMean, num('dailyMean'), 'daily mean');
  close(p.dailyStd, num('dailyStd'), 'daily std (n−1)');
  close(p.sharpe, num('sharpe'), 'Sharpe');
  close(p.sortino, num('sortino'), 'Sortino');
  close(p.maxDrawdown.amount, num('ddAmount'), 'max drawdown');
  close(p.maxDrawdown.pct, num('ddPct'), 'max drawdown %');
  close(p.maxDrawdown.durationMs, num('ddDuration'), 'max drawdown duration');
  assert.equal(p.maxDrawdown.recoveredAt !== null, n['ddRecovered'], 'recovered or not');
  close(p.exposure, num('exposure'), 'exposure');
  close(p.tradesPerDay, num('tradesPerDay'), 'trades per day');
  close(p.fees, num('fees'), 'fees');
  assert.equal(p.trades, 397);
  assert.equal(p.wins + p.losses, 396, 'the scratch trade is neither a win nor a loss');
});

test('figures without enough data are null, not NaN or Infinity', () => {
  const p = performance([], [], 100_000, 0, 1);
  for (const k of ['winRate', 'profitFactor', 'expectancy', 'avgWin', 'avgLoss', 'sharpe', 'sortino', 'tradesPerDay', 'dailyStd'] as const)
    assert.equal(p[k], null, k);
  assert.equal(p.maxDrawdown.amount, 0);
  assert.equal(p.exposure, 0);
});
