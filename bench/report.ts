/**
 * Bench reporting shared by every suite: a target judged MET or MISS beside
 * its figure, the figures of a run collected into one JSON file, a table of
 * every target, a before/after comparison of two such files, and progress
 * lines on stderr so a long suite is never silent.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { z } from 'zod';

/** How a figure is compared with its threshold. */
export type TargetOp = '<' | '<=' | '>' | '>=';
/** A target's verdict. */
export type Verdict = 'MET' | 'MISS';

/** One target as measured in one run. */
export interface TargetRecord {
  readonly suite: string;
  readonly name: string;
  readonly value: number;
  readonly op: TargetOp;
  readonly threshold: number;
  /** Unit printed after the numbers ('ms', '×', '%', 'MiB', ''). */
  readonly unit: string;
  readonly verdict: Verdict;
}

/** One suite's part of a results file. */
export interface SuiteResults {
  readonly figures: Record<string, number>;
  readonly targets: TargetRecord[];
  /** Load average (1 min) when the suite started and ended. */
  readonly loadAverage: { start: number; end?: number };
  seconds?: number;
  /** Options the suite ran with (sizes), so two files can be checked for like-for-like. */
  readonly options: Record<string, unknown>;
}

/** The JSON file one `npm run bench` invocation writes. */
export interface BenchResultsFile {
  readonly version: 1;
  readonly startedAt: string;
  finishedAt?: string;
  readonly argv: string[];
  readonly host: { cpus: number; node: string; loadAverage: number[] };
  readonly suites: Record<string, SuiteResults>;
}

/** A results file that cannot be read as one. */
export class BenchResultsError extends Error {
  readonly code = 'BENCH_RESULTS_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'BenchResultsError';
  }
}

const OP_TEXT: Record<TargetOp, string> = { '<': '<', '<=': '≤', '>': '>', '>=': '≥' };

/** MET when `value op threshold` holds; a missing or non-finite value is a MISS. */
export function judge(value: number, op: TargetOp, threshold: number): Verdict {
  if (!Number.isFinite(value)) return 'MISS';
  const ok = op === '<' ? value < threshold : op === '<=' ? value <= threshold : op === '>' ? value > threshold : value >= threshold;
  return ok ? 'MET' : 'MISS';
}

/** Number formatting used by every table: thousands separators, `d` decimals. */
export function fmt(n: number, d = 0): string {
  if (!Number.isFinite(n)) return String(n);
  return n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
}

function unitSuffix(unit: string): string {
  return unit === '' ? '' : unit === '×' || unit === '%' ? unit : ` ${unit}`;
}

/** A threshold as written: no trailing zeros. */
function short(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 3 });
}

function decimalsFor(x: number): number {
  const a = Math.abs(x);
  return a === 0 || a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : 3;
}

/** "target ≤ 1 ms: MET" */
export function targetText(t: Pick<TargetRecord, 'op' | 'threshold' | 'unit' | 'verdict'>): string {
  return `target ${OP_TEXT[t.op]} ${short(t.threshold)}${unitSuffix(t.unit)}: ${t.verdict}`;
}

/** Figures and targets of one suite, within a {@link BenchReport}. */
export class SuiteReport {
  readonly results: SuiteResults;
  private readonly started = performance.now();
  private readonly t0 = Date.now();

  readonly suite: string;
  private readonly stderr: NodeJS.WritableStream;

  constructor(suite: string, options: Record<string, unknown>, stderr: NodeJS.WritableStream) {
    this.suite = suite;
    this.stderr = stderr;
    this.results = { figures: {}, targets: [], loadAverage: { start: loadavg()[0]! }, options: { ...options } };
  }

  /**
   * Judge a figure against its target, record both, and return the text to
   * print beside the figure ("target ≤ 1 ms: MET").
   */
  target(name: string, value: number, op: TargetOp, threshold: number, unit = ''): string {
    const t: TargetRecord = { suite: this.suite, name, value, op, threshold, unit, verdict: judge(value, op, threshold) };
    const i = this.results.targets.findIndex((x) => x.name === name);
    if (i >= 0) this.results.targets[i] = t;
    else this.results.targets.push(t);
    this.results.figures[name] = value;
    return targetText(t);
  }

  /** Record figures (non-numbers and non-finite numbers are skipped). */
  figures(figures: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(figures)) if (typeof v === 'number' && Number.isFinite(v)) this.results.figures[k] = v;
  }

  /** Every target of this suite MET (and at least one recorded). */
  get allMet(): boolean {
    return this.results.targets.length > 0 && this.results.targets.every((t) => t.verdict === 'MET');
  }

  /** One line on stderr: `[kernel +12.3 s] message`. */
  progress(message: string): void {
    this.stderr.write(`[${this.suite} +${fmt((performance.now() - this.started) / 1000, 1)} s] ${message}\n`);
  }

  /** Close the suite: duration and load average at the end. */
  finish(): void {
    this.results.seconds = (Date.now() - this.t0) / 1000;
    this.results.loadAverage.end = loadavg()[0]!;
  }
}

/** Options of {@link BenchReport}. */
export interface BenchReportOptions {
  /** Where progress lines go. @default process.stderr */
  readonly stderr?: NodeJS.WritableStream;
  /** Command line recorded in the file. @default process.argv.slice(2) */
  readonly argv?: string[];
}

/** The figures of one bench invocation, one or many suites. */
export class BenchReport {
  private readonly file: BenchResultsFile;
  private readonly stderr: NodeJS.WritableStream;

  constructor(o: BenchReportOptions = {}) {
    this.stderr = o.stderr ?? process.stderr;
    this.file = {
      version: 1,
      startedAt: new Date().toISOString(),
      argv: o.argv ?? process.argv.slice(2),
      host: { cpus: cpus().length, node: process.version, loadAverage: loadavg() },
      suites: {},
    };
  }

  /** Start (or restart) a suite's section. */
  suite(name: string, options: Record<string, unknown> = {}): SuiteReport {
    const s = new SuiteReport(name, options, this.stderr);
    this.file.suites[name] = s.results;
    return s;
  }

  /** Every target recorded so far, in suite order. */
  targets(): TargetRecord[] {
    return Object.values(this.file.suites).flatMap((s) => s.targets);
  }

  /** The results file as it stands. */
  toJSON(): BenchResultsFile {
    return { ...this.file, finishedAt: this.file.finishedAt ?? new Date().toISOString() };
  }

  /** One table of every target with its verdict. */
  table(): string {
    return targetTable(this.targets());
  }

  /**
   * Write the results file; `path` defaults to
   * `bench/results/<ISO timestamp>.json` under the working directory.
   */
  async write(path?: string): Promise<string> {
    this.file.finishedAt = new Date().toISOString();
    const p = path ?? join('bench', 'results', `${this.file.startedAt.replace(/[:.]/g, '-')}.json`);
    await mkdir(dirname(p), { recursive: true });
    await writeFile(p, `${JSON.stringify(this.file, null, 2)}\n`);
    return p;
  }
}

/** A fixed-width table; the first row is the header. */
export function textTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const line = (r: string[]) =>
    r
      .map((x, c) => (c === 0 || c === 1 ? x.padEnd(widths[c]!) : x.padStart(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(rows[0]!), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/** Table of targets: suite, target, figure, threshold, verdict; then a count of MET. */
export function targetTable(targets: readonly TargetRecord[]): string {
  const rows = [['suite', 'target', 'figure', 'target', 'verdict']];
  for (const t of targets)
    rows.push([
      t.suite,
      t.name,
      `${fmt(t.value, decimalsFor(t.value))}${unitSuffix(t.unit)}`,
      `${OP_TEXT[t.op]} ${short(t.threshold)}${unitSuffix(t.unit)}`,
      t.verdict,
    ]);
  const met = targets.filter((t) => t.verdict === 'MET').length;
  return `${textTable(rows)}\n${met}/${targets.length} targets MET\n`;
}

const targetSchema = z.object({
  suite: z.string(),
  name: z.string(),
  value: z
    .number()
    .nullable()
    .transform((v) => v ?? Number.NaN),
  op: z.enum(['<', '<=', '>', '>=']),
  threshold: z.number(),
  unit: z.string(),
  verdict: z.enum(['MET', 'MISS']),
});
const fileSchema = z.object({
  version: z.literal(1),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  argv: z.array(z.string()),
  host: z.object({ cpus: z.number(), node: z.string(), loadAverage: z.array(z.number()) }),
  suites: z.record(
    z.string(),
    z.object({
      figures: z.record(z.string(), z.number()),
      targets: z.array(targetSchema),
      loadAverage: z.object({ start: z.number(), end: z.number().optional() }),
      seconds: z.number().optional(),
      options: z.record(z.string(), z.unknown()),
    }),
  ),
});

/** Read and validate a results file written by {@link BenchReport.write}. */
export async function readResults(path: string): Promise<BenchResultsFile> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new BenchResultsError(`${path}: ${(e as Error).message}`);
  }
  const r = fileSchema.safeParse(raw);
  if (!r.success)
    throw new BenchResultsError(`${path}: not a bench results file (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`);
  return r.data as BenchResultsFile;
}

/**
 * Before/after table of two results files: every target either file has,
 * each side's figure and verdict, the after/before ratio, and the load
 * averages of both runs. Suites run with different options are flagged.
 */
export function compareResults(before: BenchResultsFile, after: BenchResultsFile): string {
  const key = (t: TargetRecord) => `${t.suite}\u0000${t.name}`;
  const b = new Map(
    Object.values(before.suites)
      .flatMap((s) => s.targets)
      .map((t) => [key(t), t]),
  );
  const a = new Map(
    Object.values(after.suites)
      .flatMap((s) => s.targets)
      .map((t) => [key(t), t]),
  );
  const keys = [...new Set([...b.keys(), ...a.keys()])];
  const rows = [['suite', 'target', 'before', 'after', 'after/before', 'target', 'verdict']];
  const num = (t?: TargetRecord) => (t ? fmt(t.value, decimalsFor(t.value)) : '—');
  for (const k of keys) {
    const x = b.get(k);
    const y = a.get(k);
    const t = (y ?? x)!;
    const ratio = x && y && x.value !== 0 && Number.isFinite(x.value) && Number.isFinite(y.value) ? `${fmt(y.value / x.value, 2)}×` : '—';
    rows.push([
      t.suite,
      t.name,
      num(x),
      num(y),
      ratio,
      `${OP_TEXT[t.op]} ${short(t.threshold)}${unitSuffix(t.unit)}`,
      `${x?.verdict ?? '—'} → ${y?.verdict ?? '—'}`,
    ]);
  }
  const notes: string[] = [];
  for (const [name, s] of Object.entries(after.suites)) {
    const o = before.suites[name];
    if (o && JSON.stringify(o.options) !== JSON.stringify(s.options))
      notes.push(`note: ${name} ran with different options (${JSON.stringify(o.options)} vs ${JSON.stringify(s.options)})`);
  }
  const la = (f: BenchResultsFile) =>
    Object.entries(f.suites)
      .map(([n, s]) => `${n} ${fmt(s.loadAverage.start, 1)}`)
      .join(', ');
  return `${textTable(rows)}\nload average (1 min) at each suite's start: before ${la(before)}; after ${la(after)}\n${notes.map((n) => `${n}\n`).join('')}`;
}
