/**
 * `npm run sim -- --trades <file> --tier <preset or tier file> [options]`:
 * pass probability of a tier for a trading history, judged by the live rules.
 * Prints a progress bar (stderr), a summary table (or `--json`: one JSON
 * object on stdout) and writes an HTML report with the charts.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parseTier, presetTiers, type Tier } from '../../actors/index.js';
import {
  compilePhases,
  fitJumpDiffusion,
  RaySimulator,
  renderReport,
  SimPool,
  historyOf,
  parseTrades,
  type Simulator,
  type SimulationJobInput,
  type SimulationResult,
} from '../../sim/index.js';

function positive(v: string): number {
  const n = Number(v);
  if (!(n > 0) || !Number.isFinite(n)) throw new InvalidArgumentError('a positive number');
  return n;
}
function integer(v: string): number {
  const n = positive(v);
  if (!Number.isInteger(n)) throw new InvalidArgumentError('a positive integer');
  return n;
}
function real(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('a number');
  return n;
}

/** A preset id, or a path to a tier JSON file. */
function loadTier(spec: string): Tier {
  const preset = presetTiers().find((t) => t.id === spec);
  if (preset !== undefined) return preset;
  let text: string;
  try {
    text = readFileSync(spec, 'utf8');
  } catch {
    throw new InvalidArgumentError(
      `'${spec}' is neither a preset (${presetTiers()
        .map((t) => t.id)
        .join(', ')}) nor a readable tier file`,
    );
  }
  return parseTier(JSON.parse(text));
}

/** Where the report goes unless `--report` says: under `.data/`, which git ignores. */
const DEFAULT_REPORT = '.data/sim/sim-report.html';

const program = new Command('sim')
  .description('Monte Carlo pass probability of a prop-firm tier under its exact rules')
  .requiredOption('--tier <preset|file>', 'tier preset id or tier JSON file')
  .option('--trades <file>', 'closed trades: JSON, or CSV with closedAt,pnl[,balance]')
  .option(
    '--account-size <n>',
    "balance the trades were sized on, when the file has no balance column (default: the tier's starting balance)",
    positive,
  )
  .option('--paths <n>', 'paths to simulate', integer, 100_000)
  .addOption(new Option('--method <m>', 'path method').choices(['iid', 'block', 'parametric']).default('block'))
  .option('--block-length <n>', 'mean block length (default: Politis–White automatic)', positive)
  .addOption(
    new Option('--sizing <s>', 'fixed: returns × starting balance; compound: × current balance')
      .choices(['fixed', 'compound'])
      .default('fixed'),
  )
  .option('--seed <s>', 'seed (same seed, same numbers, any worker count)', '1')
  .option('--horizon-trades <n>', 'stop each path after this many trades', integer)
  .option(
    '--horizon-days <n>',
    "stop each path after this many days (default: each phase's time limit, or the history's span, per phase)",
    positive,
  )
  .option('--no-ruin', 'stop each path at its verdict (faster; no risk of ruin)')
  .option('--workers <n>', 'worker threads (default: all cores)', integer)
  .option('--json', 'print the summary as one JSON object on stdout')
  .option('--report <file>', 'HTML report path (its folder is made)', DEFAULT_REPORT)
  .option('--no-report', 'do not write the HTML report')
  .option('--mu <x>', 'parametric: annual drift', real)
  .option('--sigma <x>', 'parametric: annual volatility', positive)
  .option('--jumps-per-year <x>', 'parametric: jump rate', real, 0)
  .option('--jump-mean <x>', 'parametric: mean log jump', real, 0)
  .option('--jump-std <x>', 'parametric: log jump spread', real, 0)
  .option('--fit <file>', 'parametric: fit mu, sigma and jumps to a CSV of time,price')
  .option('--exposure <x>', 'parametric: notional per trade as a multiple of the balance (negative: short)', real, 1)
  .option('--hold-days <x>', 'parametric: days each trade is held', positive, 1)
  .option('--steps-per-day <n>', 'parametric: monitoring steps per day', integer, 24)
  .option('--fee <x>', 'parametric: round-trip fee as a fraction of notional', real, 0)
  .addHelpText(
    'after',
    '\nEnvironment: RAY_SERVE_URL sends the job to a Ray Serve cluster (deploy/ray/), with the local pool as the fallback.',
  );

async function main(): Promise<void> {
  const o = program.parse().opts();
  const tier = loadTier(o.tier);
  const phases = compilePhases(tier);
  const job: SimulationJobInput = {
    seed: o.seed,
    paths: o.paths,
    method: o.method,
    sizing: o.sizing,
    phases,
    ruin: o.ruin,
    tradesPerDay: [1],
    horizon: {},
  };
  let source: string;
  let historyDays = 30;
  if (o.method === 'parametric') {
    let model = { mu: o.mu, sigma: o.sigma, jumpsPerYear: o.jumpsPerYear, jumpMean: o.jumpMean, jumpStd: o.jumpStd };
    if (o.fit !== undefined) {
      const points = readFileSync(o.fit, 'utf8')
        .split(/\r?\n/)
        .filter((l) => /^\s*[\d.]/.test(l))
        .map((l) => {
          const [t, p] = l.split(',');
          return { t: /^\d+$/.test(t!.trim()) ? Number(t) : Date.parse(t!), price: Number(p) };
        });
      const fit = fitJumpDiffusion(points);
      model = { ...fit };
      process.stderr.write(
        `fitted to ${fit.observations} returns: mu ${fit.mu.toFixed(3)}, sigma ${fit.sigma.toFixed(3)}, ${fit.jumpsPerYear.toFixed(1)} jumps/yr (mean ${fit.jumpMean.toFixed(4)}, std ${fit.jumpStd.toFixed(4)})\n`,
      );
    }
    if (model.mu === undefined || model.sigma === undefined)
      throw new InvalidArgumentError('parametric paths need --mu and --sigma, or --fit <prices.csv>');
    job.model = { ...model, exposure: o.exposure, holdDays: o.holdDays, stepsPerDay: o.stepsPerDay, fee: o.fee };
    source = o.fit === undefined ? `GBM mu ${model.mu} sigma ${model.sigma}` : basename(o.fit);
  } else {
    if (o.trades === undefined) throw new InvalidArgumentError(`method '${o.method}' needs --trades <file>`);
    const history = historyOf(
      parseTrades(readFileSync(o.trades, 'utf8'), basename(o.trades)),
      tier,
      o.accountSize ?? tier.phases[0]!.startingBalance,
    );
    job.returns = history.returns;
    job.tradesPerDay = history.tradesPerDay;
    historyDays = history.days;
    source = `${basename(o.trades)} (${history.trades} trades over ${history.days} days)`;
  }
  // Days per phase drawn from the history: each judged phase gets its time limit, or the history's span.
  const perPhase = phases.filter((p) => p.target !== null).map((p) => p.maxDays ?? historyDays);
  job.horizon = {
    trades: o.horizonTrades,
    days: o.horizonDays ?? (o.horizonTrades === undefined ? perPhase.reduce((a, b) => a + b, 0) : undefined),
  };
  const judged = phases.filter((p) => p.target !== null);
  const limits = judged.every((p) => p.maxDays !== null) ? 'all' : judged.some((p) => p.maxDays !== null) ? 'some' : 'none';
  const horizon = describeHorizon(o.horizonTrades, o.horizonDays, perPhase, limits, historyDays);

  const pool = new SimPool({ workers: o.workers });
  const ray = process.env.RAY_SERVE_URL;
  const simulator: Simulator =
    ray === undefined || ray === ''
      ? pool
      : new RaySimulator({
          url: ray,
          fallback: pool,
          onFallback: (why) => process.stderr.write(`Ray Serve unavailable (${why}); running on the local pool\n`),
        });
  const bar = progressBar(o.paths);
  let result: SimulationResult;
  try {
    result = await simulator.run(job, { onProgress: bar });
  } finally {
    process.stderr.write('\n');
    await pool.close();
  }
  if (o.report !== false) {
    const file = resolve(o.report as string);
    const first = phases[0]!;
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(
      file,
      renderReport(result, {
        horizon,
        tierName: tier.name,
        tierId: tier.id,
        source,
        method: result.method,
        paths: result.paths,
        seed: result.seed,
        generatedAt: new Date().toISOString(),
        ...(first.target === null ? {} : { targetLevel: first.startingBalance + first.target }),
        ...(first.maxLoss === null ? {} : { floorLevel: first.startingBalance - first.maxLoss.amount }),
      }),
    );
  }
  if (o.json === true) process.stdout.write(`${JSON.stringify(result)}\n`);
  else process.stdout.write(summaryTable(result, tier, source, horizon));
  if (o.report !== false) process.stderr.write(`report: ${resolve(o.report as string)} (open it in a browser)\n`);
}

/** The horizon in words: what stops a path that has no verdict. */
function describeHorizon(
  trades: number | undefined,
  days: number | undefined,
  perPhase: readonly number[],
  limits: 'all' | 'some' | 'none',
  historyDays: number,
): string {
  const parts: string[] = [];
  if (trades !== undefined) parts.push(`${trades.toLocaleString('en-US')} trades (--horizon-trades)`);
  if (days !== undefined) parts.push(`${days} days (--horizon-days)`);
  if (parts.length > 0) return parts.join(' or ');
  const total = perPhase.reduce((a, b) => a + b, 0);
  const why =
    limits === 'all'
      ? "each phase's time limit"
      : limits === 'none'
        ? `the history's ${historyDays}-day span per phase, as no phase has a time limit`
        : `each phase's time limit, or the history's ${historyDays}-day span for a phase without one`;
  return `${total} days (${perPhase.length > 1 ? `${perPhase.join(' + ')}, ` : ''}${why})`;
}

/** A progress bar on stderr, redrawn at most every 100 ms. */
function progressBar(total: number): (done: number) => void {
  let last = 0;
  const started = performance.now();
  return (done) => {
    const now = performance.now();
    if (now - last < 100 && done < total) return;
    last = now;
    const width = 30;
    const filled = Math.round((done / total) * width);
    const rate = done / ((now - started) / 1000);
    process.stderr.write(
      `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${((done / total) * 100).toFixed(0).padStart(3)}% ${done.toLocaleString('en-US')}/${total.toLocaleString('en-US')} paths, ${Math.round(rate).toLocaleString('en-US')}/s`,
    );
  };
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}

/** The summary as an aligned text table. */
export function summaryTable(r: SimulationResult, tier: Tier, source: string, horizon?: string): string {
  const rows: [string, string][] = [
    ['tier', `${tier.name} (${tier.id} v${tier.version})`],
    ['history', source],
    [
      'method',
      `${r.method}${r.blockLength === null ? '' : ` (mean block ${r.blockLength.toFixed(2)} trades)`}, seed ${r.seed}, ${r.engine}`,
    ],
    ['paths', `${r.paths.toLocaleString('en-US')} in ${(r.elapsedMs / 1000).toFixed(2)} s`],
    ...(horizon === undefined ? [] : [['horizon', `${horizon}: a path with no verdict by then is undecided`] as [string, string]]),
    ['pass probability', `${pct(r.pass.p)}  (95% CI ${pct(r.pass.lo)} – ${pct(r.pass.hi)})`],
    ...Object.entries(r.breakdown)
      .filter(([k]) => k !== 'passed')
      .map(([k, e]) => [`  ${k}`, `${pct(e.p)}  (${pct(e.lo)} – ${pct(e.hi)})`] as [string, string]),
    [
      'days to pass',
      r.daysToPass === null
        ? 'no path passed'
        : `p50 ${r.daysToPass.p50}, p5 ${r.daysToPass.p5}, p95 ${r.daysToPass.p95}, mean ${r.daysToPass.mean.toFixed(1)}`,
    ],
    [
      'max drawdown',
      r.maxDrawdown === null
        ? 'not computed'
        : `p50 ${pct(r.maxDrawdown.p50)}, p95 ${pct(r.maxDrawdown.p95)}, p99 ${pct(r.maxDrawdown.p99)}`,
    ],
    [
      'final P&L',
      r.finalPnl === null
        ? 'not computed'
        : `p5 ${r.finalPnl.p5.toFixed(0)}, p50 ${r.finalPnl.p50.toFixed(0)}, p95 ${r.finalPnl.p95.toFixed(0)}`,
    ],
    [
      'risk of ruin',
      r.riskOfRuin === null ? 'not tracked (--no-ruin)' : `${pct(r.riskOfRuin.p)}  (${pct(r.riskOfRuin.lo)} – ${pct(r.riskOfRuin.hi)})`,
    ],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  return `${rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join('\n')}\n`;
}

main().catch((err: Error) => {
  process.stderr.write(`sim: ${err.message}\n`);
  process.exitCode = 2;
});
