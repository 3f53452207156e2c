/**
 * Main event-loop stalls, measured two ways: the wall-clock delay of a 1 ms
 * timer (what a waiting ack or tick sees, including time the thread was not
 * scheduled on a busy machine), and the main thread's own CPU time within
 * the longest gaps, from /proc's schedstat (what this process holds the loop
 * for, whatever the machine's load: the figure to judge a design by when
 * other processes share the cores), and how long the thread waited for a
 * CPU within the longest gap (the machine's share of that gap).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

/** Nanoseconds the main thread has run on a CPU, and waited runnable for one (Linux; NaN elsewhere). */
function threadSchedNs(): [run: number, wait: number] {
  try {
    const [run, wait] = readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'utf8').split(' ');
    return [Number(run), Number(wait)];
  } catch {
    return [NaN, NaN];
  }
}

/** What {@link LoopStallMeter.stop} reports, in ms. */
export interface LoopStalls {
  /** Longest gap between two timer turns (wall clock). */
  readonly maxWallMs: number;
  /** Most main-thread CPU time within one gap: the longest the process itself held the loop. */
  readonly maxCpuMs: number;
  /** Time the main thread waited, runnable, for a CPU within the longest gap: the machine's share of it, not the process's. */
  readonly maxWallWaitMs: number;
  /** Gaps over 50 ms (wall clock). */
  readonly over50: number;
}

/** Samples the main loop every millisecond between `start()` and `stop()`. */
export class LoopStallMeter {
  #timer: NodeJS.Timeout | undefined;
  #lastWall = 0;
  #lastCpu = 0;
  #lastWait = 0;
  #maxWall = 0;
  #maxWallWait = 0;
  #maxCpu = 0;
  #over50 = 0;

  start(): void {
    this.#lastWall = performance.now();
    [this.#lastCpu, this.#lastWait] = threadSchedNs();
    this.#maxWall = this.#maxWallWait = this.#maxCpu = this.#over50 = 0;
    this.#timer = setInterval(() => this.#sample(), 1);
  }

  #sample(): void {
    const wall = performance.now();
    const [cpu, wait] = threadSchedNs();
    const gap = wall - this.#lastWall;
    if (gap > this.#maxWall) {
      this.#maxWall = gap;
      this.#maxWallWait = (wait - this.#lastWait) / 1e6;
    }
    if (gap > 50) this.#over50++;
    const used = (cpu - this.#lastCpu) / 1e6;
    if (used > this.#maxCpu) this.#maxCpu = used;
    this.#lastWall = wall;
    this.#lastCpu = cpu;
    this.#lastWait = wait;
  }

  stop(): LoopStalls {
    clearInterval(this.#timer);
    this.#sample();
    return { maxWallMs: this.#maxWall, maxCpuMs: this.#maxCpu, maxWallWaitMs: this.#maxWallWait, over50: this.#over50 };
  }
}
