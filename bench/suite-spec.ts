/**
 * What a bench suite declares: its options (each with the default of a full
 * run and, where smaller, the size of a quick run) and how it runs and prints
 * into a {@link SuiteReport}. `bench/run.ts` turns these into commands, and
 * `all` runs every suite in turn.
 */
import { InvalidArgumentError } from 'commander';
import { fmt, type SuiteReport } from './report.js';

/** One command-line option of a suite. */
export interface OptionSpec {
  /** Commander flags, e.g. `--assessments <n>`. */
  readonly flags: string;
  readonly description: string;
  readonly parse?: (value: string) => unknown;
  /** Value of a full run. */
  readonly default: unknown;
  /** Value of a quick run (`all --quick`). @default the full run's */
  readonly quick?: unknown;
}

/** A bench suite. */
export interface SuiteSpec {
  readonly name: string;
  readonly description: string;
  readonly options: readonly OptionSpec[];
  /** Run with parsed options; print the figures and record targets in `report`. */
  run(options: Record<string, unknown>, report: SuiteReport): Promise<void>;
}

/** A positive whole number. */
export function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive whole number');
  return n;
}

/** A positive whole number or 0. */
export function intOrZero(v: string): number {
  return v === '0' ? 0 : int(v);
}

/** A comma-separated list of positive whole numbers. */
export function intList(v: string): number[] {
  return v.split(',').map(int);
}

/** The property commander gives an option: `--verify-ticks <n>` → `verifyTicks`, `--no-baseline` → `baseline`. */
export function optionKey(flags: string): string {
  const long = flags
    .split(/[ ,]+/)
    .find((f) => f.startsWith('--'))!
    .slice(2)
    .replace(/^no-/, '');
  return long.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A suite's options as a full (or quick) run takes them, without the command line. */
export function defaultsOf(spec: SuiteSpec, quick: boolean): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const opt of spec.options) o[optionKey(opt.flags)] = quick && opt.quick !== undefined ? opt.quick : opt.default;
  return o;
}

/** A row of a suite's table: label, figure, note (a target's verdict, runs, …). */
export type Row = [string, string, string?];

/** Print a suite's table, then its figures as one JSON line (also recorded in the report). */
export function printSuite(report: SuiteReport, title: string, rows: readonly Row[], json: Record<string, number>): void {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v, note] of rows) process.stdout.write(`  ${k.padEnd(38)} ${v.padStart(14)}${note ? `   ${note}` : ''}\n`);
  report.figures(json);
  process.stdout.write(`${JSON.stringify({ bench: report.suite, ...json })}\n`);
}

/** Print the targets of a suite whose own text carries no verdicts. */
export function printTargets(report: SuiteReport): void {
  for (const t of report.results.targets)
    process.stdout.write(
      `  ${t.name.padEnd(38)} ${fmt(t.value, Math.abs(t.value) < 10 ? 2 : 0).padStart(14)}   ${t.verdict === 'MET' ? 'MET' : 'MISS'}: ${t.name} ${t.op} ${t.threshold}${t.unit ? ` ${t.unit}` : ''}\n`,
    );
}

/** "runs 1 / 2 / 3" */
export function runsOf(xs: readonly number[], d = 0): string {
  return `runs ${xs.map((x) => fmt(x, d)).join(' / ')}`;
}

export { fmt };
