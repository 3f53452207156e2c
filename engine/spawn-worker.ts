import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Start a worker thread on a module URL. A `.ts` entry (running from source
 * under tsx) boots through a small loader; a compiled `.js` entry runs as is.
 */
export function spawnWorker(entry: URL, options: WorkerOptions & { workerData?: Record<string, unknown> } = {}): Worker {
  if (!entry.pathname.endsWith('.ts')) return new Worker(entry, options);
  return new Worker(new URL('./worker-boot.mjs', import.meta.url), {
    ...options,
    workerData: { ...(options.workerData ?? {}), entry: entry.href },
  });
}
