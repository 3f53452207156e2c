/**
 * Inline SVG charts of the assessment report over time: equity with its
 * floors, daily P&L bars, headroom to each floor, and the pass probability by
 * day. Pure string builders in the style of the Monte Carlo report's charts
 * (sim/montecarlo/svg-charts.ts: palette, number formats, tick rules).
 */
import { CHART_WIDTH, escapeHtml, formatNumber, formatPercent, niceTicks, PALETTE } from '../montecarlo/svg-charts.js';

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const STEPS = [HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 91 * DAY];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `2025-03-10 14:05 UTC`: the report's one clock is the feed's, written in UTC. */
export function formatTime(ms: number): string {
  if (!Number.isFinite(ms)) return '—';
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** Round time ticks covering `[lo, hi]` (UTC hours or days). */
export function timeTicks(lo: number, hi: number, count = 6): { ticks: number[]; label: (t: number) => string } {
  const span = Math.max(1, hi - lo);
  const step = STEPS.find((s) => span / s <= count) ?? STEPS.at(-1)!;
  const first = Math.ceil(lo / step) * step;
  const ticks: number[] = [];
  for (let t = first; t <= hi && ticks.length < 50; t += step) ticks.push(t);
  const label = (t: number): string => {
    const d = new Date(t);
    const day = `${d.getUTCDate()} ${MONTHS[d.getUTCMonth()]}`;
    return step < DAY ? `${day} ${String(d.getUTCHours()).padStart(2, '0')}:00` : day;
  };
  return { ticks, label };
}

const r1 = (v: number): string => (Math.round(v * 10) / 10).toString();

function scale(d0: number, d1: number, r0: number, rr: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (rr - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

function frameSvg(f: Frame, label: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="${escapeHtml(label)}">${body}</svg>`;
}

/** Axes of a chart over time: horizontal gridlines with y labels, time ticks below. */
function timeAxes(
  f: Frame,
  x0: number,
  x1: number,
  y: ReturnType<typeof niceTicks>,
  sx: (v: number) => number,
  sy: (v: number) => number,
  yTitle: string,
  yFmt: (v: number) => string,
): string {
  const out: string[] = [];
  for (const t of y.ticks) {
    const py = r1(sy(t));
    out.push(`<line class="grid" x1="${f.left}" x2="${f.width - f.right}" y1="${py}" y2="${py}"/>`);
    out.push(`<text class="tick" x="${f.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle">${escapeHtml(yFmt(t))}</text>`);
  }
  const base = f.height - f.bottom;
  const tt = timeTicks(x0, x1);
  for (const t of tt.ticks) {
    const px = r1(sx(t));
    out.push(`<line class="axis" x1="${px}" x2="${px}" y1="${base}" y2="${base + 5}"/>`);
    out.push(`<text class="tick" x="${px}" y="${base + 18}" text-anchor="middle">${escapeHtml(tt.label(t))}</text>`);
  }
  out.push(`<line class="axis" x1="${f.left}" x2="${f.width - f.right}" y1="${base}" y2="${base}"/>`);
  out.push(
    `<text class="axis-title" x="${(f.left + f.width - f.right) / 2}" y="${f.height - 6}" text-anchor="middle">Feed time (UTC)</text>`,
  );
  out.push(`<text class="axis-title" x="${f.left - 8}" y="${f.top - 12}" text-anchor="start">${escapeHtml(yTitle)}</text>`);
  return out.join('');
}

/** A polyline of (t, v) pairs, broken where v is null; `step` holds each value until the next point. */
function path(
  ts: readonly number[],
  vs: readonly (number | null)[],
  sx: (v: number) => number,
  sy: (v: number) => number,
  step: boolean,
): string {
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < ts.length; i++) {
    const v = vs[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      if (cur !== '') parts.push(cur);
      cur = '';
      continue;
    }
    const x = r1(sx(ts[i]!));
    const y = r1(sy(v));
    if (cur === '') cur = `M${x},${y}`;
    else cur += step ? `H${x}V${y}` : `L${x},${y}`;
  }
  if (cur !== '') parts.push(cur);
  return parts.join('');
}

export interface EquityChartInput {
  readonly t: readonly number[];
  readonly equity: readonly number[];
  readonly low: readonly number[];
  readonly balance: readonly number[];
  readonly dailyFloor: readonly (number | null)[];
  readonly maxLossFloor: readonly (number | null)[];
  readonly target: number | null;
  /** Violations: instant and equity. */
  readonly marks: readonly { readonly at: number; readonly equity: number; readonly label: string }[];
}

/** Equity (with its bucket lows shaded), the closed balance, both floors as steps, the target, and the violations. */
export function equityChart(i: EquityChartInput): string {
  const f: Frame = { width: CHART_WIDTH, height: 360, left: 84, right: 20, top: 30, bottom: 46 };
  const values = [
    ...i.equity,
    ...i.low,
    ...i.balance,
    ...i.dailyFloor,
    ...i.maxLossFloor,
    i.target,
    ...i.marks.map((m) => m.equity),
  ].filter((v): v is number => v !== null && Number.isFinite(v));
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const y = niceTicks(lo - (hi - lo) * 0.03, hi + (hi - lo) * 0.03, 6);
  const x0 = i.t[0]!;
  const x1 = Math.max(i.t.at(-1)!, x0 + 60_000);
  const sx = scale(x0, x1, f.left, f.width - f.right);
  const sy = scale(y.lo, y.hi, f.height - f.bottom, f.top);
  const out = [timeAxes(f, x0, x1, y, sx, sy, 'Equity', (v) => formatNumber(v, y.decimals))];
  const band = [
    ...i.t.map((t, k) => `${r1(sx(t))},${r1(sy(i.equity[k]!))}`),
    ...[...i.t].reverse().map((t, k) => `${r1(sx(t))},${r1(sy(i.low[i.t.length - 1 - k]!))}`),
  ];
  out.push(`<polygon points="${band.join(' ')}" fill="${PALETTE.blue}" fill-opacity=".16"/>`);
  out.push(
    `<path d="${path(i.t, i.dailyFloor, sx, sy, true)}" fill="none" stroke="${PALETTE.orange}" stroke-width="1.6" stroke-dasharray="6 4"/>`,
  );
  out.push(
    `<path d="${path(i.t, i.maxLossFloor, sx, sy, true)}" fill="none" stroke="${PALETTE.vermillion}" stroke-width="1.6" stroke-dasharray="6 4"/>`,
  );
  if (i.target !== null)
    out.push(
      `<line x1="${f.left}" x2="${f.width - f.right}" y1="${r1(sy(i.target))}" y2="${r1(sy(i.target))}" stroke="${PALETTE.green}" stroke-width="1.5" stroke-dasharray="6 4"/>`,
    );
  out.push(`<path d="${path(i.t, i.balance, sx, sy, true)}" fill="none" stroke="#4a4f57" stroke-width="1.2"/>`);
  out.push(
    `<path d="${path(i.t, i.equity, sx, sy, false)}" fill="none" stroke="${PALETTE.blue}" stroke-width="2" stroke-linejoin="round"/>`,
  );
  for (const m of i.marks) {
    out.push(
      `<circle cx="${r1(sx(m.at))}" cy="${r1(sy(m.equity))}" r="5" fill="${PALETTE.vermillion}" stroke="#fff" stroke-width="1.5"><title>${escapeHtml(m.label)}</title></circle>`,
    );
  }
  return frameSvg(f, 'Equity over time with its floors', out.join(''));
}

/** Daily realized P&L as bars (gains green, losses vermillion). */
export function dailyBars(days: readonly { readonly at: number; readonly pnl: number; readonly label: string }[]): string {
  const f: Frame = { width: CHART_WIDTH, height: 240, left: 84, right: 20, top: 30, bottom: 46 };
  const vals = days.map((d) => d.pnl);
  const y = niceTicks(Math.min(0, ...vals), Math.max(0, ...vals), 5);
  const x0 = days[0]!.at;
  const x1 = Math.max(days.at(-1)!.at + DAY, x0 + DAY);
  const sx = scale(x0, x1, f.left, f.width - f.right);
  const sy = scale(y.lo, y.hi, f.height - f.bottom, f.top);
  const out = [timeAxes(f, x0, x1, y, sx, sy, 'Realized P&L per day', (v) => formatNumber(v, y.decimals))];
  const w = Math.max(1.5, Math.min(40, ((f.width - f.left - f.right) / Math.max(1, days.length)) * 0.7));
  for (const d of days) {
    const top = sy(Math.max(0, d.pnl));
    const h = Math.abs(sy(d.pnl) - sy(0));
    out.push(
      `<rect x="${r1(sx(d.at) + 1)}" y="${r1(top)}" width="${r1(w)}" height="${r1(Math.max(0.5, h))}" fill="${d.pnl >= 0 ? PALETTE.green : PALETTE.vermillion}"><title>${escapeHtml(d.label)}</title></rect>`,
    );
  }
  out.push(`<line class="axis" x1="${f.left}" x2="${f.width - f.right}" y1="${r1(sy(0))}" y2="${r1(sy(0))}"/>`);
  return frameSvg(f, 'Realized P&L per trading day', out.join(''));
}

/** Room left to each floor over time (equity's lows minus the floor); below zero the floor was crossed. */
export function headroomChart(t: readonly number[], daily: readonly (number | null)[], maxLoss: readonly (number | null)[]): string {
  const f: Frame = { width: CHART_WIDTH, height: 260, left: 84, right: 20, top: 30, bottom: 46 };
  const vals = [...daily, ...maxLoss, 0].filter((v): v is number => v !== null && Number.isFinite(v));
  const y = niceTicks(Math.min(...vals), Math.max(...vals), 5);
  const x0 = t[0]!;
  const x1 = Math.max(t.at(-1)!, x0 + 60_000);
  const sx = scale(x0, x1, f.left, f.width - f.right);
  const sy = scale(y.lo, y.hi, f.height - f.bottom, f.top);
  const out = [timeAxes(f, x0, x1, y, sx, sy, 'Room left to the floor', (v) => formatNumber(v, y.decimals))];
  out.push(
    `<line x1="${f.left}" x2="${f.width - f.right}" y1="${r1(sy(0))}" y2="${r1(sy(0))}" stroke="${PALETTE.ink}" stroke-width="1.2"/>`,
  );
  out.push(`<path d="${path(t, daily, sx, sy, false)}" fill="none" stroke="${PALETTE.orange}" stroke-width="1.8"/>`);
  out.push(`<path d="${path(t, maxLoss, sx, sy, false)}" fill="none" stroke="${PALETTE.vermillion}" stroke-width="1.8"/>`);
  return frameSvg(f, 'Headroom to the daily and max-loss floors', out.join(''));
}

/** Pass probability by day with its 95% interval as a band. */
export function passChart(
  points: readonly { readonly at: number; readonly p: number; readonly lo: number; readonly hi: number }[],
): string {
  const f: Frame = { width: CHART_WIDTH, height: 240, left: 84, right: 20, top: 30, bottom: 46 };
  const y = niceTicks(0, 100, 5);
  const x0 = points[0]!.at;
  const x1 = Math.max(points.at(-1)!.at, x0 + DAY);
  const sx = scale(x0, x1, f.left, f.width - f.right);
  const sy = scale(0, 100, f.height - f.bottom, f.top);
  const out = [timeAxes(f, x0, x1, y, sx, sy, 'Pass probability', (v) => `${formatNumber(v, 0)}%`)];
  const band = [
    ...points.map((p) => `${r1(sx(p.at))},${r1(sy(p.hi * 100))}`),
    ...[...points].reverse().map((p) => `${r1(sx(p.at))},${r1(sy(p.lo * 100))}`),
  ];
  out.push(`<polygon points="${band.join(' ')}" fill="${PALETTE.green}" fill-opacity=".18"/>`);
  out.push(
    `<path d="${path(
      points.map((p) => p.at),
      points.map((p) => p.p * 100),
      sx,
      sy,
      false,
    )}" fill="none" stroke="${PALETTE.green}" stroke-width="2"/>`,
  );
  for (const p of points)
    out.push(
      `<circle cx="${r1(sx(p.at))}" cy="${r1(sy(p.p * 100))}" r="3" fill="${PALETTE.green}"><title>${escapeHtml(`${formatTime(p.at)}: ${formatPercent(p.p)}`)}</title></circle>`,
    );
  return frameSvg(f, 'Pass probability by day', out.join(''));
}
