/**
 * Inline SVG charts and number formatting for the Monte Carlo report
 * (`render-report.ts`). Pure string builders: no DOM, no clock, no external
 * assets, so a report is a single file that renders the same anywhere.
 * Colours are the Okabe–Ito palette, which stays distinguishable under the
 * common colour-vision deficiencies.
 */

/** Okabe–Ito colours, by role. */
export const PALETTE = {
  blue: '#0072B2',
  sky: '#56B4E9',
  green: '#009E73',
  orange: '#E69F00',
  vermillion: '#D55E00',
  purple: '#CC79A7',
  grey: '#8a8f96',
  ink: '#1f2328',
} as const;

/** Width of every chart's viewBox: the report's content column, so 1 unit ≈ 1 CSS px at 1000 px. */
export const CHART_WIDTH = 880;

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

const formats = new Map<number, Intl.NumberFormat>();

/**
 * `x` with thousands separators and a fixed number of decimals. A fixed
 * locale keeps the report byte-identical wherever it is rendered; a true
 * minus sign keeps signed columns aligned.
 */
export function formatNumber(x: number, decimals = 0): string {
  if (!Number.isFinite(x)) return '—';
  // Values that round to zero print as 0, not "-0".
  if (Math.abs(x) < 0.5 * 10 ** -decimals) x = 0;
  let f = formats.get(decimals);
  if (f === undefined) {
    f = new Intl.NumberFormat('en-US', { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    formats.set(decimals, f);
  }
  return f.format(x).replace('-', '\u2212');
}

/** `x` with an explicit sign (`+1,200`, `−300`, `0`), for P&L. */
export function formatSigned(x: number, decimals = 0): string {
  const s = formatNumber(x, decimals);
  return x > 0 && s !== formatNumber(0, decimals) ? `+${s}` : s;
}

/** A fraction as a percentage; small non-zero values get a second decimal so they do not read as 0. */
export function formatPercent(p: number, decimals?: number): string {
  const d = decimals ?? (p !== 0 && Math.abs(p) < 0.01 ? 2 : 1);
  return `${formatNumber(p * 100, d)}%`;
}

/**
 * Decimals for a probability and its interval, shared by all three numbers:
 * enough that the smaller of the estimate and the upper bound shows a
 * significant digit (a rare outcome's upper bound is the useful number),
 * at most three.
 */
export function estimateDecimals(e: { p: number; hi: number }): number {
  const ref = e.p > 0 ? Math.min(e.p, e.hi) : e.hi;
  return ref >= 0.01 || ref <= 0 ? 1 : ref >= 0.001 ? 2 : 3;
}

/** "67.4% (67.1%–67.7%)": an estimate with its 95% interval, in one consistent precision. */
export function formatEstimate(e: { p: number; lo: number; hi: number }): { p: string; interval: string } {
  const d = estimateDecimals(e);
  return { p: formatPercent(e.p, d), interval: `${formatPercent(e.lo, d)}–${formatPercent(e.hi, d)}` };
}

/** Decimals that print every multiple of `step` exactly (step 0.5 → 1, step 2000 → 0). */
function decimalsFor(step: number): number {
  return Math.max(0, -Math.floor(Math.log10(step) + 1e-9));
}

/** Round tick values covering `[lo, hi]`: steps of 1, 2 or 5 × 10ⁿ, about `count` of them. */
export function niceTicks(lo: number, hi: number, count = 5): { lo: number; hi: number; step: number; decimals: number; ticks: number[] } {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) {
    lo = 0;
    hi = 1;
  }
  if (hi - lo < 1e-12 * Math.max(1, Math.abs(lo))) {
    // A flat series still needs a visible axis around its value.
    const pad = Math.abs(lo) * 0.05 || 1;
    lo -= pad;
    hi += pad;
  }
  const raw = (hi - lo) / Math.max(1, count);
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
  const first = Math.floor(lo / step + 1e-9);
  const last = Math.ceil(hi / step - 1e-9);
  const decimals = decimalsFor(step);
  const ticks: number[] = [];
  for (let i = first; i <= last; i++) ticks.push(Number((i * step).toFixed(decimals)) + 0);
  return { lo: ticks[0]!, hi: ticks[ticks.length - 1]!, step, decimals, ticks };
}

/** Linear map from a domain to a pixel range. */
function scale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

/** Coordinates rounded to 0.1 px: plenty for the eye, a third of the bytes. */
const r1 = (v: number): string => (Math.round(v * 10) / 10).toString();
const pts = (xs: readonly number[], ys: readonly number[]): string => xs.map((x, i) => `${r1(x)},${r1(ys[i]!)}`).join(' ');

interface Frame {
  width: number;
  height: number;
  left: number;
  right: number;
  top: number;
  bottom: number;
}

/** Gridlines, axes, tick labels and the two axis titles of a cartesian chart. */
function axes(
  f: Frame,
  x: ReturnType<typeof niceTicks>,
  y: ReturnType<typeof niceTicks>,
  sx: (v: number) => number,
  sy: (v: number) => number,
  xTitle: string,
  yTitle: string,
  xFmt: (v: number) => string,
  yFmt: (v: number) => string,
): string {
  const out: string[] = [];
  for (const t of y.ticks) {
    const py = r1(sy(t));
    out.push(`<line class="grid" x1="${f.left}" x2="${f.width - f.right}" y1="${py}" y2="${py}"/>`);
    out.push(`<text class="tick" x="${f.left - 8}" y="${py}" text-anchor="end" dominant-baseline="middle">${escapeHtml(yFmt(t))}</text>`);
  }
  const base = f.height - f.bottom;
  for (const t of x.ticks) {
    const px = r1(sx(t));
    out.push(`<line class="axis" x1="${px}" x2="${px}" y1="${base}" y2="${base + 5}"/>`);
    out.push(`<text class="tick" x="${px}" y="${base + 18}" text-anchor="middle">${escapeHtml(xFmt(t))}</text>`);
  }
  out.push(`<line class="axis" x1="${f.left}" x2="${f.width - f.right}" y1="${base}" y2="${base}"/>`);
  // Titles sit outside the plot (y title above the axis, unrotated) so they never meet tick labels.
  out.push(
    `<text class="axis-title" x="${(f.left + f.width - f.right) / 2}" y="${f.height - 6}" text-anchor="middle">${escapeHtml(xTitle)}</text>`,
  );
  out.push(`<text class="axis-title" x="${f.left - 8}" y="${f.top - 12}" text-anchor="start">${escapeHtml(yTitle)}</text>`);
  return out.join('');
}

/** Labels stacked so that none is closer than `gap` px to the previous one (top to bottom). */
function spread(ys: number[], gap: number, min: number): number[] {
  const order = ys.map((y, i) => ({ y, i })).sort((a, b) => a.y - b.y);
  const out = new Array<number>(ys.length);
  let prev = min - gap;
  for (const o of order) {
    const y = Math.max(o.y, prev + gap);
    out[o.i] = y;
    prev = y;
  }
  return out;
}

/** What the fan chart draws. Values are equity; `steps` are trade indices. */
export interface FanChartInput {
  steps: readonly number[];
  bands: { p5: readonly number[]; p25: readonly number[]; p50: readonly number[]; p75: readonly number[]; p95: readonly number[] };
  samples: readonly (readonly number[])[];
  start: number;
  target?: number | undefined;
  floor?: number | undefined;
}

/**
 * Fan chart of equity by trade index: shaded p5–p95 and p25–p75 bands (each
 * one `<polygon>` of 2 × steps points), the p50 line, thin translucent sample
 * paths, and dashed reference lines for the start (and target / floor when
 * given). Callers check for an empty fan first.
 */
export function fanChart(input: FanChartInput): string {
  const f: Frame = { width: CHART_WIDTH, height: 380, left: 76, right: 124, top: 30, bottom: 46 };
  const { steps, bands } = input;
  const n = steps.length;
  const samples = input.samples.map((s) => s.slice(0, n));
  let lo = Infinity;
  let hi = -Infinity;
  const take = (v: number): void => {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  };
  bands.p5.forEach(take);
  bands.p95.forEach(take);
  for (const s of samples) s.forEach(take);
  for (const v of [input.start, input.target, input.floor]) if (v !== undefined) take(v);
  // A little headroom keeps a reference line at the extreme off the axis line itself.
  const pad = (hi - lo) * 0.03;
  const y = niceTicks(lo - pad, hi + pad, 6);
  const x = niceTicks(steps[0] ?? 0, Math.max(steps[n - 1] ?? 1, (steps[0] ?? 0) + 1), 8);
  const sx = scale(x.lo, x.hi, f.left, f.width - f.right);
  const sy = scale(y.lo, y.hi, f.height - f.bottom, f.top);
  const xs = steps.map(sx);
  const band = (upper: readonly number[], lower: readonly number[], cls: string): string =>
    `<polygon class="${cls}" points="${pts([...xs, ...[...xs].reverse()], [...upper.map(sy), ...lower.map(sy).reverse()])}"/>`;
  const out: string[] = [];
  out.push(
    axes(
      f,
      x,
      y,
      sx,
      sy,
      'Trade number',
      'Equity',
      (v) => formatNumber(v, x.decimals),
      (v) => formatNumber(v, y.decimals),
    ),
  );
  out.push(band(bands.p95, bands.p5, 'band-outer'), band(bands.p75, bands.p25, 'band-inner'));
  out.push('<g class="samples">');
  for (const s of samples) out.push(`<polyline points="${pts(xs.slice(0, s.length), s.map(sy))}"/>`);
  out.push('</g>');
  const refs = [
    { v: input.target, cls: 'ref-target', short: 'Target' },
    { v: input.start, cls: 'ref-start', short: 'Start' },
    { v: input.floor, cls: 'ref-floor', short: 'Floor' },
  ].filter((r): r is { v: number; cls: string; short: string } => r.v !== undefined && Number.isFinite(r.v));
  for (const r of refs)
    out.push(`<line class="${r.cls}" x1="${f.left}" x2="${f.width - f.right}" y1="${r1(sy(r.v))}" y2="${r1(sy(r.v))}"/>`);
  out.push(`<polyline class="median" points="${pts(xs, bands.p50.map(sy))}"/>`);
  // Reference labels sit in the right gutter, level with their line (pushed apart when lines are close), so they never cover the fan.
  const labelYs = spread(
    refs.map((r) => sy(r.v)),
    15,
    f.top,
  );
  refs.forEach((r, i) => {
    out.push(
      `<text class="ref-label ${r.cls}-text" x="${f.width - f.right + 8}" y="${r1(labelYs[i]!)}" dominant-baseline="middle">${escapeHtml(`${r.short} ${formatNumber(r.v)}`)}</text>`,
    );
  });
  return svg(f, 'Fan chart of equity by trade number', out.join(''));
}

/** What the drawdown histogram draws: bin edges and the marked percentiles, all as fractions of the starting balance. */
export interface HistogramInput {
  edges: readonly number[];
  counts: readonly number[];
  markers: readonly { label: string; value: number; cls: string }[];
}

/** Histogram of the maximum drawdown, x in % of the starting balance, with vertical percentile markers. */
export function drawdownHistogram(input: HistogramInput): string {
  const f: Frame = { width: CHART_WIDTH, height: 300, left: 76, right: 18, top: 30, bottom: 46 };
  const edges = input.edges.map((e) => e * 100);
  const top = Math.max(edges[edges.length - 1] ?? 0, ...input.markers.map((m) => m.value * 100), 0.1);
  const x = niceTicks(0, top, 8);
  const y = niceTicks(0, Math.max(1, ...input.counts), 5);
  const sx = scale(x.lo, x.hi, f.left, f.width - f.right);
  const sy = scale(y.lo, y.hi, f.height - f.bottom, f.top);
  const out: string[] = [
    axes(
      f,
      x,
      y,
      sx,
      sy,
      'Maximum drawdown (% of starting balance)',
      'Paths',
      (v) => `${formatNumber(v, x.decimals)}%`,
      (v) => formatNumber(v, y.decimals),
    ),
  ];
  out.push('<g class="bars">');
  input.counts.forEach((c, i) => {
    if (c <= 0) return;
    const x0 = sx(edges[i]!);
    // A 1 px gap separates bars without hiding narrow ones.
    const w = Math.max(1, sx(edges[i + 1]!) - x0 - 1);
    out.push(
      `<rect x="${r1(x0 + 0.5)}" y="${r1(sy(c))}" width="${r1(w)}" height="${r1(sy(0) - sy(c))}"><title>${escapeHtml(`${formatNumber(edges[i]!, 2)}–${formatNumber(edges[i + 1]!, 2)}%: ${formatNumber(c)} paths`)}</title></rect>`,
    );
  });
  out.push('</g>');
  // Marker labels on separate rows (p95 above p99) so nearby markers never overlap; they flip to the left near the right edge.
  input.markers.forEach((m, i) => {
    const px = sx(m.value * 100);
    const ly = f.top + 4 + i * 16;
    const flip = px > f.left + 0.8 * (f.width - f.left - f.right);
    out.push(`<line class="${m.cls}" x1="${r1(px)}" x2="${r1(px)}" y1="${f.top - 2}" y2="${f.height - f.bottom}"/>`);
    out.push(
      `<text class="marker-label" x="${r1(px + (flip ? -6 : 6))}" y="${ly + 8}" text-anchor="${flip ? 'end' : 'start'}">${escapeHtml(`${m.label} ${formatPercent(m.value, 2)}`)}</text>`,
    );
  });
  return svg(f, 'Histogram of maximum drawdown', out.join(''));
}

/** One row of the outcome chart. */
export interface BreakdownRow {
  label: string;
  p: number;
  lo: number;
  hi: number;
  count: number;
  color: string;
}

/** Horizontal bars with the Wilson interval as a whisker, and the numbers in an aligned column on the right. */
export function breakdownChart(rows: readonly BreakdownRow[]): string {
  const rowH = 34;
  const f: Frame = { width: CHART_WIDTH, height: 18 + rows.length * rowH + 40, left: 160, right: 270, top: 18, bottom: 40 };
  const x = niceTicks(0, Math.max(0.01, ...rows.map((r) => r.hi)) * 100, 5);
  const sx = scale(0, x.hi, f.left, f.width - f.right);
  const base = f.height - f.bottom;
  const out: string[] = [];
  for (const t of x.ticks) {
    const px = r1(sx(t));
    out.push(`<line class="grid" x1="${px}" x2="${px}" y1="${f.top - 6}" y2="${base}"/>`);
    out.push(`<text class="tick" x="${px}" y="${base + 18}" text-anchor="middle">${formatNumber(t, x.decimals)}%</text>`);
  }
  out.push(
    `<text class="axis-title" x="${(f.left + f.width - f.right) / 2}" y="${f.height - 4}" text-anchor="middle">Share of paths</text>`,
  );
  out.push(`<text class="col-title" x="${f.width - f.right + 16}" y="${f.top - 4}">Probability (95% CI) · paths</text>`);
  rows.forEach((r, i) => {
    const cy = f.top + 8 + i * rowH + rowH / 2;
    const est = formatEstimate(r);
    const x0 = sx(0);
    const w = Math.max(0, sx(r.p * 100) - x0);
    const [wl, wh] = [sx(r.lo * 100), sx(r.hi * 100)];
    out.push(
      `<text class="row-label" x="${f.left - 12}" y="${cy}" text-anchor="end" dominant-baseline="middle">${escapeHtml(r.label)}</text>`,
    );
    out.push(`<rect x="${r1(x0)}" y="${r1(cy - 9)}" width="${r1(w)}" height="18" fill="${r.color}" rx="2"/>`);
    out.push(
      `<path class="whisker" d="M${r1(wl)},${r1(cy)}H${r1(wh)}M${r1(wl)},${r1(cy - 6)}V${r1(cy + 6)}M${r1(wh)},${r1(cy - 6)}V${r1(cy + 6)}"/>`,
    );
    out.push(
      `<text class="row-value" x="${f.width - f.right + 16}" y="${cy}" dominant-baseline="middle"><tspan class="strong">${est.p}</tspan> (${est.interval}) · ${formatNumber(r.count)}</text>`,
    );
  });
  out.push(`<line class="axis" x1="${f.left}" x2="${f.left}" y1="${f.top - 6}" y2="${base}"/>`);
  return svg(f, 'Outcome probabilities with 95% intervals', out.join(''));
}

function svg(f: Frame, label: string, body: string): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${f.width} ${f.height}" width="${f.width}" height="${f.height}" role="img" aria-label="${escapeHtml(label)}">${body}</svg>`;
}
