import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { missingServerFlags, SERVER_V8_FLAGS } from '../main/server-flags.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

test('npm start, npm run serve and the image all run node with the server V8 flags', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('deploy/Dockerfile'))?.[1];
  assert.ok(entrypoint !== undefined, 'the Dockerfile has an ENTRYPOINT in exec form');
  const image = JSON.parse(entrypoint) as string[];
  assert.equal(image[0], 'node', 'the image starts node itself, so the flags reach V8');
  for (const flag of SERVER_V8_FLAGS) {
    for (const name of ['start', 'serve']) assert.ok(scripts[name]!.split(' ').includes(flag), `${name}: ${scripts[name]} lacks ${flag}`);
    assert.ok(image.includes(flag), `the image's ENTRYPOINT lacks ${flag}`);
  }
});

test('a process started without a server flag is told which it lacks', () => {
  assert.deepEqual(missingServerFlags([]), [...SERVER_V8_FLAGS]);
  assert.deepEqual(missingServerFlags(['--expose-gc', ...SERVER_V8_FLAGS]), []);
});

/** Major collections while an isolate allocates ~150 MiB it keeps: none while the 256 MiB initial limit holds. */
const COUNT_MAJORS = `
  const { PerformanceObserver, constants } = await import('node:perf_hooks');
  let majors = 0;
  const obs = new PerformanceObserver((l) => { for (const e of l.getEntries()) if (e.detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majors++; });
  obs.observe({ entryTypes: ['gc'] });
  const keep = []; for (let i = 0; i < 1.5e6; i++) keep.push({ a: i, b: [i, i] });
  setTimeout(() => { obs.disconnect(); report(majors, keep.length); }, 100);
`;

async function majorsWithFlag(env: NodeJS.ProcessEnv): Promise<{ main: number; worker: number }> {
  const flags = new URL('../main/server-flags.ts', import.meta.url).href;
  const script = `
    import { Worker } from 'node:worker_threads';
    import { confineServerFlagsToMainThread } from ${JSON.stringify(flags)};
    confineServerFlagsToMainThread();
    const worker = await new Promise((resolve) => new Worker(\`const { parentPort } = await import('node:worker_threads'); const report = (m) => parentPort.postMessage(m); ${COUNT_MAJORS.replace(/`/g, '\\`')}\`, { eval: true }).once('message', resolve));
    const report = (main) => { process.stdout.write(JSON.stringify({ main, worker })); process.exit(0); };
    ${COUNT_MAJORS}
  `;
  const { execFile } = await import('node:child_process');
  const out = await new Promise<string>((resolve, reject) =>
    execFile(
      process.execPath,
      [...SERVER_V8_FLAGS, '--import', 'tsx', '--input-type=module', '-e', script],
      { env: { ...process.env, ...env } },
      (err, stdout) => (err ? reject(err) : resolve(stdout)),
    ),
  );
  return JSON.parse(out) as { main: number; worker: number };
}

test('the server flag stays on the main thread: a worker started after confining it collects its old generation on its own sizing', async () => {
  const confined = await majorsWithFlag({ VATIC_V8_FLAGS_EVERY_ISOLATE: '' });
  assert.equal(confined.main, 0, 'the main thread keeps its 256 MiB initial limit');
  assert.ok(confined.worker >= 1, `the worker ran ${confined.worker} full collections`);
  const everywhere = await majorsWithFlag({ VATIC_V8_FLAGS_EVERY_ISOLATE: '1' });
  assert.equal(everywhere.worker, 0, "left on every isolate, the flag delays the worker's first full collection too");
});
