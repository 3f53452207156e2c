/**
 * `npm run bench -- <suite> [options]`: named benches, each printing its
 * figures next to a baseline measured in the same run and MET or MISS beside
 * each target, then one JSON line. Every invocation also writes its figures
 * to `bench/results/<timestamp>.json` (or `--out`).
 *
 * `npm run bench -- all [--quick]` runs every suite in turn (at small sizes
 * with `--quick`) and ends with one table of targets; `--compare <old.json>`
 * prints the same targets before and after.
 */
import { Command, Option } from 'commander';
import { BenchReport, compareResults, readResults } from './report.js';
import { defaultsOf, optionKey, type SuiteSpec } from './suite-spec.js';
import { history, ingest, kernel, orders, recovery, sim, snapshots, startup, venues } from './suites.js';
import { cluster, ws } from './suites-system.js';

const SUITES: readonly SuiteSpec[] = [kernel, sim, ingest, history, venues, snapshots, orders, recovery, startup, ws, cluster];

interface Common {
  out?: string;
  compare?: string;
  json?: boolean;
}

async function finish(report: BenchReport, common: Common): Promise<void> {
  const path = await report.write(common.out);
  process.stdout.write(`\n${report.table()}figures written to ${path}\n`);
  if (common.compare !== undefined)
    process.stdout.write(
      `\nbefore: ${common.compare}\nafter:  ${path}\n${compareResults(await readResults(common.compare), await readResults(path))}`,
    );
}

function commonOptions(c: Command): Command {
  return c
    .option('--out <file>', 'results file (default bench/results/<timestamp>.json)')
    .option('--compare <old.json>', 'print every target beside its figure in an earlier results file');
}

const program = new Command('bench').description('Engine benchmarks');

for (const spec of SUITES) {
  const c = program.command(spec.name).description(spec.description);
  for (const o of spec.options) {
    const opt = new Option(o.flags, o.description);
    if (o.parse !== undefined) opt.argParser((v: string) => o.parse!(v));
    if (!o.flags.startsWith('--no-')) opt.default(o.default);
    c.addOption(opt);
  }
  c.option('--quick', 'the size `all --quick` runs this suite at (options given still win)');
  commonOptions(c).action(async (raw: Record<string, unknown>, cmd: Command) => {
    const report = new BenchReport();
    const o: Record<string, unknown> = { ...raw };
    if (raw['quick'] === true) {
      // Quick sizes for the options not given on the command line.
      const quick = defaultsOf(spec, true);
      for (const opt of spec.options) {
        const key = optionKey(opt.flags);
        if (cmd.getOptionValueSource(key) === 'default' || cmd.getOptionValueSource(key) === undefined) o[key] = quick[key];
      }
    }
    const s = report.suite(spec.name, Object.fromEntries(spec.options.map((x) => [optionKey(x.flags), o[optionKey(x.flags)]])));
    await spec.run(o, s);
    s.finish();
    await finish(report, raw as Common);
  });
}

commonOptions(
  program
    .command('all')
    .description('every suite in turn, then one table of targets with MET/MISS')
    .option('--quick', 'every suite at a small size (the whole run in a few minutes)')
    .option('--only <list>', `comma-separated suites (of ${SUITES.map((x) => x.name).join(', ')})`)
    .option('--skip <list>', 'comma-separated suites to leave out'),
).action(async (o: Common & { quick?: boolean; only?: string; skip?: string }) => {
  const only = o.only?.split(',');
  const skip = new Set(o.skip?.split(',') ?? []);
  const unknown = [...(only ?? []), ...skip].filter((n) => !SUITES.some((x) => x.name === n));
  if (unknown.length > 0) throw new Error(`no suite ${unknown.join(', ')}`);
  const report = new BenchReport();
  const t0 = performance.now();
  for (const spec of SUITES) {
    if ((only !== undefined && !only.includes(spec.name)) || skip.has(spec.name)) continue;
    const options = defaultsOf(spec, o.quick === true);
    const s = report.suite(spec.name, options);
    s.progress(`starting (${((performance.now() - t0) / 1000).toFixed(0)} s into the run)`);
    try {
      await spec.run(options, s);
    } catch (err) {
      // One suite failing (a service down) must not lose the others' figures.
      process.exitCode = 1;
      s.target('suite completed', Number.NaN, '>=', 1);
      process.stderr.write(`bench: ${spec.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    }
    s.finish();
  }
  await finish(report, o);
});

await program.parseAsync();
