/**
 * Preloaded (`--import`) into the process a soak run watches. Plain
 * JavaScript: shard workers inherit the flag before any TypeScript loader
 * (and skip it: main thread only). Once a second it writes one JSON line
 * (ProbeSample in soak.ts) to the file descriptor SOAK_PROBE_FD: the
 * process's RSS and main-thread heap, and the event-loop delay p99 and max
 * over the current window of SOAK_WINDOW_MS (the last line of a window says
 * so; the next starts afresh, as does one on SIGUSR2). Every SOAK_GC_EVERY_MS, when started with
 * `--expose-gc`, it forces a full collection first and adds the heap used
 * right after it, the figure a leak shows in. That pause (tens of ms, twice a
 * minute) is in the event-loop delay too, too rare to move its p99. It
 * changes nothing else.
 */
import { createWriteStream } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { isMainThread } from 'node:worker_threads';

const fd = Number(process.env['SOAK_PROBE_FD']);
if (isMainThread && Number.isInteger(fd) && fd > 2) {
  const out = createWriteStream('', { fd });
  out.on('error', () => undefined); // the watcher went away: keep running, stop reporting
  const gcEvery = Number(process.env['SOAK_GC_EVERY_MS'] ?? 30_000);
  const gc = globalThis.gc;
  const eld = monitorEventLoopDelay({ resolution: 10 });
  eld.enable();
  const windowMs = Number(process.env['SOAK_WINDOW_MS'] ?? 300_000);
  let lastGc = Date.now();
  let windowStart = Date.now();
  // SIGUSR2 starts a window now (the soak sends it once its clients are on).
  process.on('SIGUSR2', () => {
    eld.reset();
    windowStart = Date.now();
  });
  const timer = setInterval(() => {
    let heapAfterGc;
    if (gc !== undefined && Date.now() - lastGc >= gcEvery) {
      lastGc = Date.now();
      gc();
      heapAfterGc = process.memoryUsage().heapUsed;
    }
    const m = process.memoryUsage();
    const windowEnd = Date.now() - windowStart >= windowMs - 500;
    const sample = {
      t: 'probe',
      at: Date.now(),
      rss: m.rss,
      heapUsed: m.heapUsed,
      ...(heapAfterGc === undefined ? {} : { heapAfterGc }),
      eldP99Ms: eld.percentile(99) / 1e6,
      eldMaxMs: eld.max / 1e6,
      windowEnd,
    };
    if (windowEnd) {
      eld.reset();
      windowStart = Date.now();
    }
    out.write(`${JSON.stringify(sample)}\n`);
  }, 1_000);
  timer.unref();
}
