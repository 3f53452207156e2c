/**
 * One step of a process's stop, bounded in time: a part that does not answer
 * must not keep the others open or hold the process past its supervisor's
 * grace period.
 */
import type { Logger } from 'pino';

/** Run one step of a stop, at most `ms`: a failure or an overrun is logged and the stop goes on. */
export async function boundedStep(name: string, step: () => Promise<unknown>, ms: number, log: Logger): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const t0 = performance.now();
  const overrun = new Promise<'overrun'>((r) => (timer = setTimeout(() => r('overrun'), ms)));
  try {
    const outcome = await Promise.race([step().then(() => 'done' as const), overrun]);
    if (outcome === 'overrun') log.warn({ step: name, ms }, 'stop step did not finish in time; going on without it');
  } catch (err) {
    log.warn({ err, step: name, ms: Math.round(performance.now() - t0) }, 'stop step failed; going on');
  } finally {
    clearTimeout(timer);
  }
}
