import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags the serving processes (`npm run serve`, `npm start`, the image)
 * run with. They can only be given on node's command line (V8 sizes a heap
 * when it creates it, and NODE_OPTIONS refuses this one), so package.json
 * and deploy/Dockerfile repeat them; a test keeps the three in step, and the
 * ws bench starts both of its servers with them.
 *
 * Why: the gateway's main thread keeps a small, slowly growing old
 * generation, and V8 sizes its limit from the live size, so it ran a full
 * collection about every second under fan-out load, each pausing the
 * fan-out 5–15 ms (the tail of tick-to-frame latency at 5,000 clients).
 * Starting the old generation's limit at 256 MiB makes those collections
 * rare; a collection still runs whenever the limit is reached.
 */
export const SERVER_V8_FLAGS: readonly string[] = ['--initial-old-space-size=256'];

/** The flags this process lacks (empty when started as documented). */
export function missingServerFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return SERVER_V8_FLAGS.filter((f) => !execArgv.includes(f));
}

/**
 * Give isolates created from now on (shard workers, the simulation pool)
 * V8's own old-generation sizing again. The flag is process-wide, but it pays
 * only on the gateway's main thread: a worker started with it lets its heap
 * grow to 256 MiB of garbage before its first full collection, and `npm
 * start` idled at ~1 GiB resident with it on every isolate. Call it before
 * the first worker starts. `VATIC_V8_FLAGS_EVERY_ISOLATE=1` leaves the flag
 * on every isolate (to measure the difference, deploy/measure-demo-memory.ts).
 */
export function confineServerFlagsToMainThread(env: NodeJS.ProcessEnv = process.env): void {
  if (env['VATIC_V8_FLAGS_EVERY_ISOLATE'] === '1') return;
  // 0 is V8's default: size the heap from its live size.
  setFlagsFromString('--initial-old-space-size=0');
}
