/**
 * A simulation result as one self-contained HTML page: headline numbers, a
 * fan chart of equity, the drawdown histogram, the outcome breakdown and the
 * distribution table. Inline CSS and SVG only, no scripts and no external
 * assets, so the file can be mailed, archived or attached to a ticket and
 * still open as it was rendered. Rendering is a pure function of its inputs
 * (the timestamp is passed in), so the same result gives the same bytes.
 */
import { OUTCOMES, type Distribution, type Method, type Outcome, type SimulationResult } from './simulation-spec.js';
import {
  PALETTE,
  breakdownChart,
  drawdownHistogram,
  escapeHtml,
  fanChart,
  formatEstimate,
  formatNumber,
  formatPercent,
  formatSigned,
  type BreakdownRow,
} from './svg-charts.js';

/** What the report says about where the result came from; every string is escaped before it reaches the page. */
export interface ReportContext {
  /** Display name of the tier, e.g. `Two-Step 100K`. */
  tierName: string;
  tierId: string;
  /** Where the trade history came from: a file name, or e.g. `assessment a-123`. */
  source: string;
  method: Method;
  paths: number;
  seed: string;
  /** ISO timestamp of the run, shown as given (the renderer never reads the clock). */
  generatedAt: string;
  /** Equity at which the first phase passes; drawn on the fan chart when given. */
  targetLevel?: number;
  /** Equity of the first phase's max-loss floor; drawn on the fan chart when given. */
  floorLevel?: number;
  /** Where paths stop undecided, in words, e.g. `60 days (each phase's time limit)`; stated beside "undecided" when given. */
  horizon?: string;
}

/** Human names of the outcomes, and their colours (fixed, so every report reads the same way). */
const OUTCOME_LABEL: Record<Outcome, string> = {
  passed: 'Passed',
  'daily-loss': 'Daily loss limit',
  'max-loss': 'Max loss limit',
  'phase-time-limit': 'Phase time limit',
  inactivity: 'Inactivity',
  undecided: 'Undecided at horizon',
};
const OUTCOME_COLOR: Record<Outcome, string> = {
  passed: PALETTE.green,
  'daily-loss': PALETTE.orange,
  'max-loss': PALETTE.vermillion,
  'phase-time-limit': PALETTE.purple,
  inactivity: PALETTE.sky,
  undecided: '#b0b5bb',
};
/** Outcomes that are a failure of the assessment (undecided is not: the horizon came first). */
const FAILURES: readonly Outcome[] = ['daily-loss', 'max-loss', 'phase-time-limit', 'inactivity'];

const METHOD_LABEL: Record<Method, string> = {
  iid: 'IID bootstrap of trade returns',
  block: 'Stationary block bootstrap',
  parametric: 'Parametric jump-diffusion',
};

const CSS = `
*{box-sizing:border-box}
body{margin:0;background:#f4f5f7;color:${PALETTE.ink};font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:960px;margin:0 auto;padding:28px 20px 36px}
h1{font-size:22px;line-height:1.25;margin:0 0 2px;font-weight:650}
.kicker{font-size:12px;letter-spacing:.06em;text-transform:uppercase;color:#57606a;margin:0 0 4px}
h2{font-size:16px;margin:0 0 2px;font-weight:620}
.note{color:#57606a;font-size:12.5px;margin:0 0 12px}
.inputs{display:grid;grid-template-columns:repeat(3,minmax(0,1fr));gap:8px 20px;margin:14px 0 0;padding:12px 16px;background:#fff;border:1px solid #e1e4e8;border-radius:8px}
.inputs div{min-width:0}
.inputs dt{font-size:11.5px;text-transform:uppercase;letter-spacing:.05em;color:#6e7781}
.inputs dd{margin:0;font-variant-numeric:tabular-nums;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:12px;margin-top:16px}
.card{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:14px 16px;border-top:3px solid var(--accent,#8a8f96)}
.card .label{font-size:11.5px;text-transform:uppercase;letter-spacing:.05em;color:#57606a}
.card .value{font-size:28px;font-weight:650;line-height:1.2;margin:4px 0 2px;font-variant-numeric:tabular-nums}
.card .value.text{font-size:20px;line-height:1.45}
.card .sub{font-size:12.5px;color:#57606a;font-variant-numeric:tabular-nums}
.panel{background:#fff;border:1px solid #e1e4e8;border-radius:8px;padding:16px 18px;margin-top:16px}
.legend{display:flex;flex-wrap:wrap;gap:4px 18px;font-size:12.5px;color:#3a3f45;margin:0 0 6px;padding:0;list-style:none}
.sw{display:inline-block;width:18px;height:10px;margin-right:6px;vertical-align:-1px;border-radius:2px}
.sw.line{height:0;border-top:2px solid;border-radius:0;vertical-align:3px}
.sw.dash{height:0;border-top:2px dashed;border-radius:0;vertical-align:3px}
.empty{padding:28px;text-align:center;color:#6e7781;background:#fafbfc;border:1px dashed #d0d7de;border-radius:6px}
svg{display:block;width:100%;height:auto;overflow:visible}
svg text{font-family:inherit;font-size:12px;fill:#3a3f45}
svg .tick{fill:#57606a;font-variant-numeric:tabular-nums}
svg .axis-title,svg .col-title{fill:#57606a;font-size:12px}
svg .grid{stroke:#eceef1;stroke-width:1}
svg .axis{stroke:#8c959f;stroke-width:1}
svg .band-outer{fill:${PALETTE.blue};fill-opacity:.13}
svg .band-inner{fill:${PALETTE.blue};fill-opacity:.28}
svg .samples polyline{fill:none;stroke:#4a4f57;stroke-opacity:.28;stroke-width:.9}
svg .median{fill:none;stroke:${PALETTE.blue};stroke-width:2.2;stroke-linejoin:round}
svg .ref-start{stroke:#4a4f57;stroke-width:1.3;stroke-dasharray:6 4}
svg .ref-target{stroke:${PALETTE.green};stroke-width:1.5;stroke-dasharray:6 4}
svg .ref-floor{stroke:${PALETTE.vermillion};stroke-width:1.5;stroke-dasharray:6 4}
svg .ref-label,svg .marker-label{font-size:12px;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:4px;stroke-linejoin:round}
svg .ref-start-text{fill:#3a3f45}
svg .ref-target-text{fill:#00694d}
svg .ref-floor-text{fill:#a34400}
svg .bars rect{fill:${PALETTE.sky};stroke:none}
svg .marker-p95{stroke:${PALETTE.orange};stroke-width:2}
svg .marker-p99{stroke:${PALETTE.vermillion};stroke-width:2;stroke-dasharray:5 3}
svg .marker-label{fill:${PALETTE.ink}}
svg .row-label{font-size:13px;fill:${PALETTE.ink}}
svg .row-value{font-size:12.5px;fill:#57606a;font-variant-numeric:tabular-nums}
svg .row-value .strong{fill:${PALETTE.ink};font-weight:650}
svg .whisker{stroke:${PALETTE.ink};stroke-width:1.4;fill:none}
table{width:100%;border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:13.5px}
th,td{padding:7px 10px;text-align:right;border-bottom:1px solid #eaecef;white-space:nowrap}
th{font-size:12.5px;color:#57606a;font-weight:600}
th:first-child,td:first-child{text-align:left}
td:first-child{white-space:normal}
td .unit{display:block;font-size:12px;color:#6e7781}
td.none{text-align:left;color:#6e7781}
footer{margin-top:16px;font-size:12px;color:#6e7781}
`;

/**
 * Render `result` as a complete HTML document (`<!DOCTYPE html>` … `</html>`).
 * Strings from `context` and the result's seed are HTML-escaped; charts are
 * inline SVG sized for a ~1000 px wide page and scale down with it.
 */
export function renderReport(result: SimulationResult, context: ReportContext): string {
  const title = `Pass probability — ${context.tierName}`;
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    '<main>',
    header(result, context),
    headline(result, context.horizon),
    fanSection(result, context),
    drawdownSection(result),
    breakdownSection(result, context.horizon),
    tableSection(result),
    `<footer>Engine: ${escapeHtml(result.engine)} · ${formatNumber(result.elapsedMs)} ms · ${formatNumber(result.paths)} paths simulated · result seed ${escapeHtml(result.seed)}. Probabilities with Wilson score 95% intervals; percentiles interpolate linearly between order statistics.</footer>`,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function header(result: SimulationResult, c: ReportContext): string {
  const method =
    c.method === 'block' && result.blockLength !== null
      ? `${METHOD_LABEL.block} (mean block ${formatNumber(result.blockLength, 1)} trades)`
      : (METHOD_LABEL[c.method] ?? c.method);
  const items: [string, string][] = [
    ['Tier', `${c.tierName} (${c.tierId})`],
    ['Source', c.source],
    ['Method', method],
    ['Paths', formatNumber(c.paths)],
    ['Seed', c.seed],
    ['Generated', c.generatedAt],
  ];
  return (
    `<header><p class="kicker">Monte Carlo assessment report</p><h1>${escapeHtml(c.tierName)}: pass probability</h1>` +
    `<dl class="inputs">${items.map(([k, v]) => `<div><dt>${k}</dt><dd>${escapeHtml(v)}</dd></div>`).join('')}</dl></header>`
  );
}

function card(label: string, value: string, sub: string, accent: string, textValue = false): string {
  return `<div class="card" style="--accent:${accent}"><div class="label">${label}</div><div class="value${textValue ? ' text' : ''}">${value}</div><div class="sub">${sub}</div></div>`;
}

/** Days print as whole numbers when they are (the kernel counts whole days), else with one decimal. */
function days(d: number): string {
  return formatNumber(d, Number.isInteger(d) ? 0 : 1);
}

function headline(r: SimulationResult, horizon: string | undefined): string {
  const pe = formatEstimate(r.pass);
  // Undecided paths make the pass probability a lower bound over a longer horizon; say how many.
  const undecided =
    r.breakdown.undecided.p > 0
      ? `<br>${formatPercent(r.breakdown.undecided.p)} undecided at the horizon${horizon === undefined ? '' : ` of ${escapeHtml(horizon)}`}`
      : '';
  const pass = card(
    'Pass probability',
    pe.p,
    `95% CI ${pe.interval}<br>${formatNumber(r.outcomes.passed)} of ${formatNumber(r.paths)} paths${undecided}`,
    PALETTE.green,
  );
  const worst = FAILURES.reduce<Outcome>((a, b) => (r.breakdown[b].p > r.breakdown[a].p ? b : a), FAILURES[0]!);
  const we = formatEstimate(r.breakdown[worst]);
  const fail =
    r.breakdown[worst].p > 0
      ? card('Most likely way to fail', OUTCOME_LABEL[worst], `${we.p} of paths<br>95% CI ${we.interval}`, OUTCOME_COLOR[worst], true)
      : card('Most likely way to fail', 'None', 'No simulated path failed', PALETTE.grey, true);
  const d = r.daysToPass;
  const time =
    d === null
      ? card('Median days to pass', '—', 'No path passed', PALETTE.grey)
      : card('Median days to pass', days(d.p50), `p5–p95: ${days(d.p5)}–${days(d.p95)} days`, PALETTE.blue);
  let ruin: string;
  if (r.riskOfRuin === null) ruin = card('Risk of ruin', '—', 'Not tracked: paths stopped at their verdict', PALETTE.grey);
  else {
    const re = formatEstimate(r.riskOfRuin);
    ruin = card('Risk of ruin', re.p, `95% CI ${re.interval}<br>Max-loss floor touched within the horizon`, PALETTE.vermillion);
  }
  return `<section class="cards" aria-label="Headline">${pass}${fail}${time}${ruin}</section>`;
}

function legendItem(cls: 'sw' | 'sw line' | 'sw dash', style: string, label: string): string {
  return `<li><span class="${cls}" style="${style}"></span>${label}</li>`;
}

function fanSection(r: SimulationResult, c: ReportContext): string {
  const { steps, bands, samples } = r.fan;
  const intro =
    '<h2>Equity by trade</h2><p class="note">Quantiles of equity over the recorded paths at each trade number; a path that has ended keeps its last value.</p>';
  if (steps.length === 0 || bands.p50.length === 0)
    return `<section class="panel">${intro}<div class="empty">No equity paths were recorded for this run.</div></section>`;
  // Every recorded path starts at the starting balance, so the first p50 is it.
  const start = bands.p50[0]!;
  const legend = [
    legendItem('sw', `background:${PALETTE.blue};opacity:.22`, 'p5–p95'),
    legendItem('sw', `background:${PALETTE.blue};opacity:.45`, 'p25–p75'),
    legendItem('sw line', `border-color:${PALETTE.blue}`, 'Median (p50)'),
    samples.length > 0
      ? legendItem('sw line', 'border-color:rgba(74,79,87,.6);border-top-width:1px', `${formatNumber(samples.length)} sample paths`)
      : '',
    legendItem('sw dash', 'border-color:#4a4f57', 'Starting balance'),
    c.targetLevel !== undefined ? legendItem('sw dash', `border-color:${PALETTE.green}`, 'Profit target') : '',
    c.floorLevel !== undefined ? legendItem('sw dash', `border-color:${PALETTE.vermillion}`, 'Max-loss floor') : '',
  ].join('');
  const chart = fanChart({ steps, bands, samples, start, target: c.targetLevel, floor: c.floorLevel });
  return `<section class="panel">${intro}<ul class="legend">${legend}</ul>${chart}</section>`;
}

function drawdownSection(r: SimulationResult): string {
  const dd = r.maxDrawdown;
  const h = r.drawdownHistogram;
  const intro = `<h2>Maximum drawdown</h2><p class="note">Largest peak-to-trough fall of equity during the assessment, per path, as a share of the starting balance.${dd === null ? '' : ` Median ${formatPercent(dd.p50, 2)}.`}</p>`;
  if (dd === null || h === null || h.counts.length === 0 || dd.n === 0)
    return `<section class="panel">${intro}<div class="empty">No drawdown data.</div></section>`;
  const legend = [
    legendItem('sw', `background:${PALETTE.sky}`, 'Paths per bin'),
    legendItem('sw line', `border-color:${PALETTE.orange}`, `p95 ${formatPercent(dd.p95, 2)}`),
    legendItem('sw dash', `border-color:${PALETTE.vermillion}`, `p99 ${formatPercent(dd.p99, 2)}`),
  ].join('');
  const chart = drawdownHistogram({
    edges: h.edges,
    counts: h.counts,
    markers: [
      { label: 'p95', value: dd.p95, cls: 'marker-p95' },
      { label: 'p99', value: dd.p99, cls: 'marker-p99' },
    ],
  });
  return `<section class="panel">${intro}<ul class="legend">${legend}</ul>${chart}</section>`;
}

function breakdownSection(r: SimulationResult, horizon: string | undefined): string {
  // Passed first as the reference, then the other outcomes from most to least likely.
  const rest = OUTCOMES.filter((o) => o !== 'passed').sort((a, b) => r.breakdown[b].p - r.breakdown[a].p);
  const rows: BreakdownRow[] = (['passed', ...rest] as Outcome[]).map((o) => ({
    label: OUTCOME_LABEL[o],
    ...r.breakdown[o],
    count: r.outcomes[o] ?? 0,
    color: OUTCOME_COLOR[o],
  }));
  return `<section class="panel"><h2>How paths end</h2><p class="note">Share of paths by outcome; whiskers are the 95% interval. Undecided paths reached the horizon with no verdict${horizon === undefined ? '' : `; the horizon: ${escapeHtml(horizon)}`}.</p>${breakdownChart(rows)}</section>`;
}

function tableSection(r: SimulationResult): string {
  const head = '<tr><th>Distribution</th><th>Paths</th><th>Mean</th><th>Std</th><th>p5</th><th>p50</th><th>p95</th><th>p99</th></tr>';
  // The spread (std) gets its own format: a sign on it would read as a direction.
  const row = (
    name: string,
    unit: string,
    d: Distribution | null,
    fmt: (x: number) => string,
    fmtStd: (x: number) => string,
    empty: string,
  ): string => {
    const label = `<td>${name}<span class="unit">${unit}</span></td>`;
    if (d === null || d.n === 0) return `<tr>${label}<td>0</td><td class="none" colspan="6">${empty}</td></tr>`;
    return `<tr>${label}<td>${formatNumber(d.n)}</td><td>${fmt(d.mean)}</td><td>${fmtStd(d.std)}</td>${[d.p5, d.p50, d.p95, d.p99].map((v) => `<td>${fmt(v)}</td>`).join('')}</tr>`;
  };
  const body = [
    row(
      'Days to pass',
      'days, passing paths',
      r.daysToPass,
      (x) => formatNumber(x, 1),
      (x) => formatNumber(x, 1),
      'No path passed',
    ),
    row(
      'Max drawdown',
      '% of starting balance',
      r.maxDrawdown,
      (x) => formatPercent(x, 2),
      (x) => formatPercent(x, 2),
      'No data',
    ),
    row(
      'Final P&amp;L',
      'account currency',
      r.finalPnl,
      (x) => formatSigned(x),
      (x) => formatNumber(x),
      'No data',
    ),
  ].join('');
  return `<section class="panel"><h2>Distributions</h2><p class="note">Std is the population standard deviation. Final P&amp;L is the balance minus the starting balance of the phase the path ended in.</p><table><thead>${head}</thead><tbody>${body}</tbody></table></section>`;
}
