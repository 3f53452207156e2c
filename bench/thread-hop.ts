/**
 * The floor under any cross-thread latency on this machine: one-way delivery
 * of a tiny postMessage to an idle worker, sent at the same cadence as the
 * paced ticks. Whatever the engine does, a tick's verdict cannot arrive sooner.
 */
import { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { LatencyRecorder } from '../engine/index.js';

const ECHO = `
const { parentPort } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
parentPort.on('message', (sentAt) => parentPort.postMessage(performance.timeOrigin + performance.now() - sentAt));
`;

/** One-way hop latency p50/p99/max (ms), one message per ms for `seconds`. */
export async function measureThreadHop(seconds: number): Promise<{ p50: number; p99: number; max: number }> {
  const worker = new Worker(ECHO, { eval: true });
  const rec = new LatencyRecorder();
  worker.on('message', (ms: number) => rec.record(ms));
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    worker.postMessage(performance.timeOrigin + performance.now());
    await new Promise((r) => setTimeout(r, 1));
  }
  await new Promise((r) => setTimeout(r, 50));
  await worker.terminate();
  return { p50: rec.percentile(50), p99: rec.percentile(99), max: rec.max };
}
