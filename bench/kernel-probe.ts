/**
 * One shard's kernel in this thread, the kernel bench's accounts and ticks: CPU time per tick, per evaluation and
 * per breach at a given size, without workers or the load of other processes' threads (process CPU time).
 * node --import tsx bench/kernel-probe.ts <accounts> <ticks>
 */
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { serialize } from 'node:v8';
import { parseTier } from '../actors/index.js';
import { ShardKernel } from '../engine/index.js';

const N = Number(process.argv[2] ?? 50_000);
const T = Number(process.argv[3] ?? 100_000);
const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD', 'XRP-USD', 'DOGE-USD', 'ADA-USD', 'AVAX-USD', 'LINK-USD', 'DOT-USD', 'LTC-USD'];
const PRICES = [60_000, 3_000, 150, 0.6, 0.15, 0.45, 35, 15, 7, 80];
const T0 = Date.parse('2026-03-02T08:00:00Z');
const TIER = parseTier({
  id: 'bench-100k',
  version: 1,
  name: 'Bench 100K',
  timezone: 'UTC',
  resetTime: '00:00',
  kinds: ['linear'],
  leverage: 50,
  fees: { linear: 0.0004, binary: 0 },
  phases: [{ name: 'funded', startingBalance: 100_000, rules: { dailyLoss: { limit: { pct: 5 } }, maxLoss: { limit: { pct: 10 } } } }],
});
function rng(seed: number): () => number {
  let x = (seed * 2654435761) >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 4294967296;
  };
}
let gcMs = 0;
new PerformanceObserver((l) => {
  for (const e of l.getEntries()) gcMs += e.duration;
}).observe({ entryTypes: ['gc'] });
const k = new ShardKernel({
  tiers: [TIER],
  instruments: SYMBOLS.map((symbol) => ({ symbol, kind: 'linear' as const, venue: 'bench', minQty: 1e-6 })),
});
// HASH=1: a digest of every event drained, to show a change to the kernel emits the same events
const hash = process.env['HASH'] === '1' ? createHash('sha256') : undefined;
const drain = () => {
  const ev = k.drainEvents();
  hash?.update(JSON.stringify(ev));
  return ev;
};
let i = 0;
const apply = (input: Parameters<ShardKernel['apply']>[0]['input']) => k.apply({ i: i++, input });
apply({ type: 'clock', time: T0 });
SYMBOLS.forEach((symbol, s) => apply({ type: 'tick', seq: s + 1, ts: T0, symbol, bid: PRICES[s]! * 0.99995, ask: PRICES[s]! * 1.00005 }));
const r = rng(8);
const c0 = process.cpuUsage();
const w0 = performance.now();
for (let a = 0; a < N; a++) {
  const id = `a${a}`;
  apply({ type: 'create', assessmentId: id, traderId: `t${a}`, tierId: TIER.id });
  const n = 1 + Math.floor(r() * 3);
  const lev = 0.5 + r() * 2.5;
  const first = Math.floor(r() * SYMBOLS.length);
  for (let j = 0; j < n; j++) {
    const s = (first + j * 3) % SYMBOLS.length;
    const qty = Math.round(((100_000 * lev) / n / PRICES[s]!) * 1e6) / 1e6;
    apply({
      type: 'command',
      assessmentId: id,
      command: { kind: 'place', clientOrderId: `p${j}`, symbol: SYMBOLS[s]!, side: r() < 0.5 ? 'buy' : 'sell', type: 'market', qty },
    });
  }
  if (r() < 0.3) {
    const s = Math.floor(r() * SYMBOLS.length);
    const buy = r() < 0.5;
    apply({
      type: 'command',
      assessmentId: id,
      command: {
        kind: 'place',
        clientOrderId: 'w',
        symbol: SYMBOLS[s]!,
        side: buy ? 'buy' : 'sell',
        type: 'limit',
        qty: Math.round((10_000 / PRICES[s]!) * 1e6) / 1e6,
        limitPrice: PRICES[s]! * (buy ? 0.7 : 1.3),
      },
    });
  }
  if (a % 10_000 === 9_999) drain();
}
drain();
k.takeDeltas(); // every new actor owes one: the worker flushes them during setup, not in the tick phase
const c1 = process.cpuUsage();
const w1 = performance.now();
const cpu = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;
console.log(
  `create ${N}: cpu ${cpu(c0, c1).toFixed(0)} ms, wall ${(w1 - w0).toFixed(0)} ms, ${((cpu(c0, c1) * 1000) / N).toFixed(1)} µs/account, heap ${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(0)} MiB`,
);
// ticks: the bench's log-random walk with jumps
const tr = rng(1);
// PROFILE=file.cpuprofile: a CPU profile of the tick phase alone (the setup would drown it)
const profile = process.env['PROFILE'];
const session = profile === undefined ? undefined : new Session();
if (session !== undefined) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
}
const mid = [...PRICES];
const e0 = k.stats.evaluations;
const v0 = k.stats.violations;
await new Promise((resolve) => setTimeout(resolve, 10)); // the setup's GC entries arrive before the reset
gcMs = 0;
let events = 0;
let maxTickMs = 0;
let deltas = 0;
const c2 = process.cpuUsage();
const w2 = performance.now();
for (let t = 0; t < T; t++) {
  const s = Math.floor(tr() * SYMBOLS.length);
  const z = Math.sqrt(-2 * Math.log(tr() + 1e-12)) * Math.cos(2 * Math.PI * tr());
  const jump = tr() < Number(process.env['JUMPS'] ?? 1e-4) ? (tr() - 0.5) * 0.06 : 0;
  mid[s] = mid[s]! * Math.exp(0.00005 * z + jump);
  const st = performance.now();
  k.applyTick(i, i, t + 1 + SYMBOLS.length, T0 + t, SYMBOLS[s]!, mid[s]! * (1 - 0.00005), mid[s]! * (1 + 0.00005), undefined, undefined);
  i++;
  if ((t & 63) === 63 || jump !== 0) {
    const ev = drain();
    events += ev.length;
    if (ev.length > 0) serialize(ev); // the ack's cost on the shard: postMessage serializes the events there
  }
  const took = performance.now() - st;
  if (took > maxTickMs) maxTickMs = took;
  if (t % 5000 === 4999) {
    const d = k.takeDeltas();
    deltas += d.length;
    hash?.update(JSON.stringify(d));
  }
}
events += drain().length;
const c3 = process.cpuUsage();
const w3 = performance.now();
if (hash !== undefined) console.log(`events and deltas sha256 ${hash.digest('hex')}`);
if (session !== undefined && profile !== undefined) {
  const { profile: p } = await session.post('Profiler.stop');
  writeFileSync(profile, JSON.stringify(p));
  session.disconnect();
}
await new Promise((resolve) => setTimeout(resolve, 10)); // the GC observer reports asynchronously
const ev = k.stats.evaluations - e0;
const br = k.stats.violations - v0;
const ms = cpu(c2, c3);
console.log(
  `ticks ${T}: cpu ${ms.toFixed(0)} ms (${((T * 1000) / ms).toFixed(0)} ticks/s of cpu), wall ${(w3 - w2).toFixed(0)} ms, gc ${gcMs.toFixed(0)} ms; evaluations ${ev} (${(ev / T).toFixed(2)}/tick, ${((ms * 1000) / ev).toFixed(2)} µs cpu each), violations ${br}, events ${events}, deltas ${deltas}, longest tick ${maxTickMs.toFixed(1)} ms`,
);
