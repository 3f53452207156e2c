import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderReport, type ReportContext } from '../montecarlo/render-report.js';
import { OUTCOMES, type Distribution, type Outcome, type SimulationResult } from '../montecarlo/simulation-spec.js';
import { wilson } from '../montecarlo/summarize.js';
import { formatNumber, niceTicks } from '../montecarlo/svg-charts.js';

const START = 100_000;
const PATHS = 100_000;

/** A tiny deterministic generator (LCG) so the fixture's paths are the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

function dist(d: Partial<Distribution> & Pick<Distribution, 'mean' | 'p50'>): Distribution {
  return { n: PATHS, std: 0, min: d.p50, max: d.p50, p5: d.p50, p25: d.p50, p75: d.p50, p95: d.p50, p99: d.p50, ...d };
}

/** Percentile `q` of ascending `xs`, linear between order statistics. */
function pct(xs: readonly number[], q: number): number {
  const h = ((xs.length - 1) * q) / 100;
  const lo = Math.floor(h);
  return xs[lo]! + (h - lo) * (xs[Math.min(lo + 1, xs.length - 1)]! - xs[lo]!);
}

/**
 * A plausible two-step-100K result: outcome counts as a run of 100,000 paths
 * might give, and a fan of `fanSteps + 1` points built from a random walk of
 * 80 recorded paths that stop at the target (+10%) or the floor (−10%).
 */
function makeResult(opts: { fanSteps?: number; passes?: boolean } = {}): SimulationResult {
  const fanSteps = opts.fanSteps ?? 100;
  const counts: Record<Outcome, number> =
    opts.passes === false
      ? { passed: 0, 'daily-loss': 18_000, 'max-loss': 61_000, 'phase-time-limit': 4_000, inactivity: 2_000, undecided: 15_000 }
      : { passed: 42_130, 'daily-loss': 11_200, 'max-loss': 31_870, 'phase-time-limit': 2_960, inactivity: 1_840, undecided: 10_000 };
  const breakdown = Object.fromEntries(OUTCOMES.map((o) => [o, wilson(counts[o], PATHS)])) as SimulationResult['breakdown'];
  const rand = lcg(7);
  const rows: number[][] = [];
  for (let r = 0; r < (fanSteps > 0 ? 80 : 0); r++) {
    const row = [START];
    let eq = START;
    for (let k = 1; k <= fanSteps; k++) {
      if (eq < START * 1.1 && eq > START * 0.9) eq += (rand() - 0.47) * 1_600;
      row.push(eq);
    }
    rows.push(row);
  }
  const col = (k: number): number[] => rows.map((row) => row[k]!).sort((a, b) => a - b);
  const steps = rows.length > 0 ? Array.from({ length: fanSteps + 1 }, (_, k) => k) : [];
  const band = (q: number): number[] => steps.map((k) => pct(col(k), q));
  // A right-skewed drawdown histogram over 40 bins up to 14%.
  const edges = Array.from({ length: 41 }, (_, i) => (0.14 * i) / 40);
  const shape = edges.slice(0, 40).map((e) => (e / 0.03) * Math.exp(-e / 0.018));
  const total = shape.reduce((s, x) => s + x, 0);
  const hist = shape.map((x) => Math.round((x / total) * PATHS));
  return {
    paths: PATHS,
    seed: 'fixture',
    method: 'block',
    blockLength: 3.4,
    outcomes: counts,
    pass: wilson(counts.passed, PATHS),
    breakdown,
    daysToPass:
      counts.passed === 0
        ? null
        : dist({ n: counts.passed, mean: 17.8, std: 6.2, min: 4, max: 60, p5: 9, p25: 13, p50: 17, p75: 22, p95: 29, p99: 36 }),
    maxDrawdown: dist({ mean: 0.0452, std: 0.027, min: 0, max: 0.14, p5: 0.012, p25: 0.026, p50: 0.039, p75: 0.061, p95: 0.1, p99: 0.1 }),
    finalPnl: dist({
      mean: 1_834.5,
      std: 7_412.3,
      min: -10_000,
      max: 12_950,
      p5: -10_000,
      p25: -6_120,
      p50: 2_410,
      p75: 10_020,
      p95: 10_880,
      p99: 12_100,
    }),
    riskOfRuin: wilson(38_400, PATHS),
    drawdownHistogram: { edges, counts: hist },
    fan: { steps, bands: { p5: band(5), p25: band(25), p50: band(50), p75: band(75), p95: band(95) }, samples: rows.slice(0, 20) },
    engine: 'local',
    elapsedMs: 1_234.5,
  };
}

const context: ReportContext = {
  tierName: 'Two-Step 100K',
  tierId: 'two-step-100k',
  source: 'trades-2024Q4.csv',
  method: 'block',
  paths: PATHS,
  seed: 'fixture',
  generatedAt: '2025-01-15T09:30:00.000Z',
  targetLevel: 110_000,
  floorLevel: 90_000,
};

const count = (html: string, re: RegExp): number => html.match(re)?.length ?? 0;

const VOID = new Set(['meta', 'br', 'link', 'img', 'input', 'hr', 'col', 'wbr']);

/** Check that every element closes in order; returns the element names seen. A failure says where. */
function assertWellFormed(html: string): string[] {
  assert.ok(html.startsWith('<!DOCTYPE html>\n'), 'starts with the doctype');
  assert.ok(html.trimEnd().endsWith('</html>'), 'ends with </html>');
  // CSS is opaque text to the tag checker.
  const body = html.replace(/<style>[^<]*<\/style>/, '<style></style>').replace(/^<!DOCTYPE html>/, '');
  const stack: string[] = [];
  const seen: string[] = [];
  const tag = /<(\/?)([a-zA-Z][a-zA-Z0-9-]*)\b(?:[^>"']|"[^"]*"|'[^']*')*?(\/?)>/g;
  let text = '';
  let last = 0;
  for (const m of body.matchAll(tag)) {
    text += body.slice(last, m.index);
    last = m.index + m[0].length;
    const [, close, rawName, selfClose] = m;
    const name = rawName!.toLowerCase();
    if (close) assert.equal(stack.pop(), name, `</${name}> closes the open element (at ${m.index})`);
    else {
      seen.push(name);
      if (!selfClose && !VOID.has(name)) stack.push(name);
    }
  }
  text += body.slice(last);
  assert.deepEqual(stack, [], 'every element is closed');
  assert.ok(!/[<>]/.test(text), 'no stray < or > in text content');
  for (const one of ['html', 'head', 'body']) assert.equal(seen.filter((n) => n === one).length, 1, `exactly one <${one}>`);
  // SVG <title> elements are tooltips; the document's own title is the one in <head>.
  assert.equal(count(/<head>[\s\S]*<\/head>/.exec(html)![0], /<title>/g), 1, 'exactly one document <title>');
  return seen;
}

test('the report is one well-formed HTML document with no scripts or external assets', () => {
  const html = renderReport(makeResult(), context);
  const seen = assertWellFormed(html);
  assert.ok(!seen.includes('script') && !seen.includes('link') && !seen.includes('img'));
  assert.ok(!/\b(?:src|href)=/.test(html), 'nothing is loaded from elsewhere');
  assert.ok(!/https?:\/\/(?!www\.w3\.org\/2000\/svg)/.test(html), 'no URL other than the SVG namespace');
});

test('the headline shows the pass probability with its 95% interval', () => {
  const html = renderReport(makeResult(), context);
  // wilson(42,130, 100,000) = 0.4213 in [0.41824, 0.42436].
  assert.match(html, /<div class="value">42\.1%<\/div>/);
  assert.ok(html.includes('95% CI 41.8%–42.4%'));
  assert.ok(html.includes('42,130 of 100,000 paths'));
});

test('the most likely way to fail, median days to pass and risk of ruin are in the headline', () => {
  const html = renderReport(makeResult(), context);
  assert.ok(html.includes('Max loss limit</div><div class="sub">31.9% of paths'));
  assert.match(html, /Median days to pass<\/div><div class="value">17<\/div>/);
  assert.match(html, /Risk of ruin<\/div><div class="value">38\.4%<\/div>/);
});

test('each chart is drawn as exactly one svg element', () => {
  const html = renderReport(makeResult(), context);
  assert.equal(count(html, /<svg\b/g), 3);
  for (const label of [
    'Fan chart of equity by trade number',
    'Histogram of maximum drawdown',
    'Outcome probabilities with 95% intervals',
  ]) {
    assert.equal(count(html, new RegExp(`<svg[^>]*aria-label="${label}"`, 'g')), 1, label);
  }
});

test('strings from the context are escaped, so a hostile tier name cannot inject markup', () => {
  const hostile: ReportContext = {
    ...context,
    tierName: '<script>alert("x")</script> & Co',
    tierId: "t'1",
    source: '"><img src=x onerror=alert(1)>',
    seed: '</title><b>',
    generatedAt: '2025-01-15T09:30:00Z<br>',
  };
  const html = renderReport(makeResult(), hostile);
  assertWellFormed(html);
  assert.ok(!/<script/i.test(html) && !/<img/i.test(html) && !html.includes('<b>') && !html.includes('Z<br>'));
  assert.ok(html.includes('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co'));
  assert.ok(html.includes('&quot;&gt;&lt;img src=x onerror=alert(1)&gt;'));
  assert.ok(html.includes('t&#39;1'));
});

test('the fan bands are polygons with two points per fan step, and the median line has one per step', () => {
  for (const fanSteps of [100, 250, 1]) {
    const result = makeResult({ fanSteps });
    const n = result.fan.steps.length;
    const html = renderReport(result, context);
    const polygons = [...html.matchAll(/<polygon class="(band-[a-z]+)" points="([^"]*)"/g)];
    assert.deepEqual(
      polygons.map((m) => m[1]),
      ['band-outer', 'band-inner'],
    );
    for (const m of polygons) assert.equal(m[2]!.trim().split(/\s+/).length, 2 * n, `${m[1]} with ${n} steps`);
    const median = /<polyline class="median" points="([^"]*)"/.exec(html);
    assert.ok(median, 'a median polyline');
    assert.equal(median[1]!.trim().split(/\s+/).length, n);
    assert.equal(count(html, /<g class="samples">.*?<\/g>/g), 1);
    assert.equal(count(html.match(/<g class="samples">.*?<\/g>/)![0], /<polyline /g), 20);
  }
});

test('target and floor lines are drawn only when the context gives them', () => {
  const withLines = renderReport(makeResult(), context);
  assert.ok(withLines.includes('Target 110,000') && withLines.includes('Floor 90,000') && withLines.includes('Start 100,000'));
  const { targetLevel: _t, floorLevel: _f, ...bare } = context;
  const without = renderReport(makeResult(), bare);
  assert.ok(!without.includes('class="ref-target"') && !without.includes('class="ref-floor"'));
  assert.ok(without.includes('class="ref-start"'));
});

test('a result in which no path passed renders without days to pass', () => {
  const result = makeResult({ passes: false });
  assert.equal(result.daysToPass, null);
  const html = renderReport(result, context);
  assertWellFormed(html);
  assert.match(html, /Median days to pass<\/div><div class="value">—<\/div><div class="sub">No path passed/);
  assert.match(html, /Days to pass.*?<td class="none" colspan="6">No path passed<\/td>/);
  // Zero passes in 100,000: the upper bound (0.0038%) is what matters, so the precision follows it.
  assert.match(html, /Pass probability<\/div><div class="value">0\.000%<\/div><div class="sub">95% CI 0\.000%–0\.004%/);
  assert.ok(!html.includes('NaN') && !html.includes('undefined') && !html.includes('Infinity'));
});

test('an empty fan renders a note in place of the fan chart', () => {
  const result = makeResult({ fanSteps: 0 });
  assert.equal(result.fan.steps.length, 0);
  const html = renderReport(result, context);
  assertWellFormed(html);
  assert.ok(html.includes('No equity paths were recorded'));
  assert.equal(count(html, /<svg\b/g), 2);
  assert.ok(!html.includes('<polygon') && !html.includes('NaN'));
});

test('numbers carry thousands separators and signed P&L uses a true minus', () => {
  const html = renderReport(makeResult(), context);
  assert.ok(html.includes('<dd>100,000</dd>'));
  assert.ok(html.includes('<td>+1,835</td><td>7,412</td><td>−10,000</td>'));
  assert.ok(html.includes('1,235 ms'));
  assert.equal(formatNumber(-0.2), '0');
  assert.equal(formatNumber(1_234_567.891, 2), '1,234,567.89');
});

test('axis ticks are round values that cover the data', () => {
  assert.deepEqual(niceTicks(93_512, 118_004, 6).ticks, [90_000, 95_000, 100_000, 105_000, 110_000, 115_000, 120_000]);
  assert.deepEqual(niceTicks(0, 13.7, 8).ticks, [0, 2, 4, 6, 8, 10, 12, 14]);
  assert.deepEqual(niceTicks(0, 0.43, 5).ticks, [0, 0.1, 0.2, 0.3, 0.4, 0.5]);
  const flat = niceTicks(100_000, 100_000, 5);
  assert.ok(flat.lo < 100_000 && flat.hi > 100_000);
});

test('rendering the same result twice gives the same bytes', () => {
  assert.equal(renderReport(makeResult(), context), renderReport(makeResult(), context));
});
