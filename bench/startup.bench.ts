/**
 * Start-up bench: an engine with its shard workers started from compiled
 * JavaScript (dist/, what `npm start`, `npm run serve` and the image run)
 * against the same from TypeScript sources under tsx, each in a fresh node
 * process, alternating. Optionally restored from a snapshot of
 * `assessments` actors, so the figure includes what a recovery pays for
 * booting its workers. Needs `npm run build` first.
 *
 * Figures per mode: wall time from process start to the engine having
 * applied its first input on every shard, and the process's CPU time to
 * that point (less sensitive than wall time to other load on the machine).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface StartupBenchOptions {
  /** Shard workers. @default 2 */ readonly workers: number;
  /** Processes of each mode, alternating. @default 5 */ readonly repeats: number;
  /** Actors in the snapshot the engine is restored from (0: an empty engine). @default 0 */ readonly assessments: number;
}

const ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The child: start (or restore) an engine, wait for every shard, print when and at what CPU cost. */
function childScript(engineUrl: string, actorsUrl: string, workers: number, assessments: number): string {
  return `
    const { Engine } = await import(${JSON.stringify(engineUrl)});
    const { presetTiers } = await import(${JSON.stringify(actorsUrl)});
    const tiers = presetTiers();
    let engine;
    if (${assessments} > 0) {
      const seed = await Engine.start({ workers: 1, tiers, flushIntervalMs: 0 });
      for (let a = 0; a < ${assessments}; a++) seed.submit({ type: 'create', assessmentId: 'a' + a, traderId: 't' + a, tierId: tiers[a % tiers.length].id });
      const snapshot = await seed.snapshot();
      await seed.stop();
      const t = performance.now(), c = process.cpuUsage();
      engine = await Engine.restore(snapshot, { workers: ${workers}, flushIntervalMs: 0 });
      engine.submit({ type: 'clock', time: Date.parse('2026-03-02T08:00:00Z') });
      await engine.barrier();
      const cpu = process.cpuUsage(c);
      process.stdout.write(JSON.stringify({ readyMs: performance.now() - t, cpuMs: (cpu.user + cpu.system) / 1000 }));
    } else {
      engine = await Engine.start({ workers: ${workers}, tiers, flushIntervalMs: 0 });
      engine.submit({ type: 'clock', time: Date.parse('2026-03-02T08:00:00Z') });
      await engine.barrier();
      const cpu = process.cpuUsage();
      process.stdout.write(JSON.stringify({ readyMs: performance.now(), cpuMs: (cpu.user + cpu.system) / 1000 }));
    }
    await engine.stop();
  `;
}

function runChild(mode: 'compiled' | 'tsx', o: StartupBenchOptions, dir: string): Promise<{ readyMs: number; cpuMs: number }> {
  const compiled = mode === 'compiled';
  const engine = new URL(compiled ? 'dist/engine/index.js' : 'engine/index.ts', `file://${ROOT}`).href;
  const actors = new URL(compiled ? 'dist/actors/index.js' : 'actors/index.ts', `file://${ROOT}`).href;
  // A file, not --eval: workers inherit node's flags, and --input-type would stop them loading their entries.
  const file = join(dir, `${mode}.mjs`);
  writeFileSync(file, childScript(engine, actors, o.workers, o.assessments));
  const args = [...(compiled ? [] : ['--import', 'tsx']), file];
  return new Promise((resolve, reject) =>
    execFile(process.execPath, args, { cwd: ROOT, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`${mode} child failed: ${stderr || err.message}`));
      resolve(JSON.parse(stdout) as { readyMs: number; cpuMs: number });
    }),
  );
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Raised when dist/ has not been built. */
/** The build before the compiled runs failed. */
export class BuildFailedError extends Error {
  readonly code = 'BUILD_FAILED';
  constructor(detail: string) {
    super(`npm run build failed: ${detail}`);
    this.name = 'BuildFailedError';
  }
}

/** Build dist/ from the working tree, so the compiled side runs the same code as the tsx side. */
function build(): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile('npm', ['run', '-s', 'build'], { cwd: ROOT, maxBuffer: 16 * 2 ** 20 }, (err, stdout, stderr) =>
      err === null ? resolve() : reject(new BuildFailedError(`${stdout}${stderr}`.trim().slice(-2_000) || err.message)),
    );
  });
}

export async function runStartupBench(
  o: StartupBenchOptions,
  progress: (m: string) => void = () => undefined,
): Promise<{ figures: Record<string, number>; runs: Record<string, number[]> }> {
  progress('building dist/ (npm run build)');
  await build();
  const runs: Record<string, number[]> = { compiledReady: [], compiledCpu: [], tsxReady: [], tsxCpu: [] };
  const dir = mkdtempSync(join(tmpdir(), 'bench-startup-'));
  try {
    for (let r = 0; r < o.repeats; r++) {
      // Alternate which goes first, so a drift in the machine's load falls on both.
      for (const mode of (r % 2 === 0 ? ['compiled', 'tsx'] : ['tsx', 'compiled']) as Array<'compiled' | 'tsx'>) {
        const x = await runChild(mode, o, dir);
        runs[`${mode}Ready`]!.push(x.readyMs);
        runs[`${mode}Cpu`]!.push(x.cpuMs);
        progress(`${mode} ${r + 1}/${o.repeats}: ready in ${x.readyMs.toFixed(0)} ms, ${x.cpuMs.toFixed(0)} ms CPU`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const f = Object.fromEntries(Object.entries(runs).map(([k, v]) => [k, median(v)]));
  return {
    figures: {
      ...f,
      readyRatio: f['compiledReady']! / f['tsxReady']!,
      cpuRatio: f['compiledCpu']! / f['tsxCpu']!,
      workers: o.workers,
      assessments: o.assessments,
    },
    runs,
  };
}
