/**
 * A simulation worker: keeps the plans of the jobs in flight and runs the
 * chunks the pool hands it, sending records back as transferred buffers.
 */
import { parentPort } from 'node:worker_threads';
import { planFor, runChunk, type KernelPlan } from './path-kernel.js';
import type { PoolRequest, PoolReply } from './sim-pool.js';
import type { SimulationJob } from './simulation-spec.js';
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
        const rec = runChunk(plan, msg.chunk, msg.first, msg.count, { kernels });
        const reply: PoolReply = { type: 'records', jobId: msg.jobId, chunk: msg.chunk, records: rec };
        port.postMessage(reply, [
          rec.outcome.buffer,
          rec.passDay.buffer,
          rec.maxDrawdown.buffer,
          rec.finalPnl.buffer,
          rec.ruined.buffer,
          rec.fan.buffer,
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
