/**
 * A simulation worker: keeps the plans of the jobs in flight and runs the
 * chunks the pool hands it, sending back each chunk's outcome counts and
 * the values the job's figures need, as transferred buffers.
 */
import { parentPort } from 'node:worker_threads';
import { planFor, runChunk, type KernelPlan } from './path-kernel.js';
import type { PoolRequest, PoolReply } from './sim-pool.js';
import type { SimulationJob } from './simulation-spec.js';
import { summarizeChunk } from './summarize.js';
import { KernelCache } from './tier-kernel.js';

const port = parentPort;
if (port === null) throw new Error('sim-worker must run in a worker thread');
const plans = new Map<number, KernelPlan>();
// Kernels generated for the jobs' tiers, reused across jobs of the same shape (and kept warm).
const kernels = new KernelCache();

port.on('message', (msg: PoolRequest) => {
  switch (msg.type) {
    case 'plan':
      plans.set(msg.jobId, planFor(msg.job as SimulationJob));
      break;
    case 'drop':
      plans.delete(msg.jobId);
      break;
    case 'chunk': {
      const plan = plans.get(msg.jobId);
      if (plan === undefined) return; // dropped (cancelled) while the chunk was queued
      try {
        // Counted here, on the worker: the pool's thread only merges the counts and reads the wanted values.
        const summary = summarizeChunk(runChunk(plan, msg.chunk, msg.first, msg.count, { kernels }));
        const reply: PoolReply = { type: 'summary', jobId: msg.jobId, chunk: msg.chunk, summary };
        port.postMessage(reply, [
          summary.counts.buffer,
          summary.passDays.buffer,
          summary.maxDrawdown.buffer,
          summary.finalPnl.buffer,
          summary.fan.buffer,
        ] as ArrayBuffer[]);
      } catch (err) {
        const reply: PoolReply = {
          type: 'failed',
          jobId: msg.jobId,
          chunk: msg.chunk,
          message: err instanceof Error ? err.message : String(err),
        };
        port.postMessage(reply);
      }
      break;
    }
  }
});
