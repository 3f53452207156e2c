/**
 * CPU time of each thread of this process and of a named process (e.g. the
 * local nats-server), from Linux's /proc `schedstat`: nanoseconds run on a CPU
 * and nanoseconds spent runnable but waiting for one. Both count whatever the
 * load: CPU per unit of work is the figure a shared 2-core machine cannot
 * blur, and the wait is the contention itself. Elsewhere every figure is NaN.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Run and run-queue wait of one thread (or a sum of threads), ns. */
export interface CpuSample {
  readonly runNs: number;
  readonly waitNs: number;
}

/** One reading: this process's threads by thread id, and the other process's threads summed. */
export interface ThreadCpuReading {
  readonly threads: ReadonlyMap<number, CpuSample>;
  readonly other: CpuSample;
}

/** CPU used between two readings, by role. */
export interface ThreadCpuDelta {
  /** This process's main thread (thread id = pid). */
  readonly main: CpuSample;
  /** Every other thread of this process: worker threads, V8's GC and compiler helpers, libuv's pool. */
  readonly others: CpuSample;
  /** The busiest `busiest` other threads one by one, busiest first (the shard workers, when they do the work). */
  readonly top: readonly CpuSample[];
  /** The other process (all its threads). */
  readonly other: CpuSample;
}

const NONE: CpuSample = { runNs: 0, waitNs: 0 };

function schedstat(path: string): CpuSample | undefined {
  try {
    const [run, wait] = readFileSync(path, 'utf8').split(' ');
    return { runNs: Number(run), waitNs: Number(wait) };
  } catch {
    return undefined; // the thread ended
  }
}

function sumTasks(pid: number | string): CpuSample {
  let runNs = 0;
  let waitNs = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    const s = schedstat(`/proc/${pid}/task/${tid}/schedstat`);
    if (s === undefined) continue;
    runNs += s.runNs;
    waitNs += s.waitNs;
  }
  return { runNs, waitNs };
}

/**
 * The pid of the process listening on a local TCP port (e.g. the nats-server
 * this bench talks to, among others on the machine), from /proc/net/tcp{,6}
 * and the processes' socket descriptors; `comm` narrows the search.
 */
export function findListener(port: number, comm: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEXIP:HEXPORT, st 0A is LISTEN, inode is field 9
      if (f.length > 9 && f[3] === '0A' && Number.parseInt(f[1]!.split(':')[1]!, 16) === port) inodes.add(`socket:[${f[9]}]`);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== comm) continue;
      for (const fd of readdirSync(`/proc/${entry}/fd`)) if (inodes.has(readlinkSync(`/proc/${entry}/fd/${fd}`))) return Number(entry);
    } catch {
      // gone, or not ours to read
    }
  }
  return undefined;
}

/** Reads this process's threads and, when given, another process. */
export class ThreadCpu {
  readonly #otherPid: number | undefined;

  constructor(otherPid?: number) {
    this.#otherPid = otherPid;
  }

  read(): ThreadCpuReading {
    const threads = new Map<number, CpuSample>();
    if (process.platform !== 'linux') return { threads, other: { runNs: NaN, waitNs: NaN } };
    for (const tid of readdirSync('/proc/self/task')) {
      const s = schedstat(`/proc/self/task/${tid}/schedstat`);
      if (s !== undefined) threads.set(Number(tid), s);
    }
    let other: CpuSample = { runNs: NaN, waitNs: NaN };
    try {
      if (this.#otherPid !== undefined) other = sumTasks(this.#otherPid);
    } catch {
      // the process ended
    }
    return { threads, other };
  }

  /** What ran between `a` and `b`; threads born in between count from zero. */
  static delta(a: ThreadCpuReading, b: ThreadCpuReading, busiest = 2): ThreadCpuDelta {
    const sub = (x: CpuSample, y: CpuSample | undefined): CpuSample => ({
      runNs: x.runNs - (y?.runNs ?? 0),
      waitNs: x.waitNs - (y?.waitNs ?? 0),
    });
    let main = NONE;
    let others = NONE;
    const each: CpuSample[] = [];
    for (const [tid, s] of b.threads) {
      const d = sub(s, a.threads.get(tid));
      if (tid === process.pid) main = d;
      else {
        others = { runNs: others.runNs + d.runNs, waitNs: others.waitNs + d.waitNs };
        each.push(d);
      }
    }
    each.sort((x, y) => y.runNs - x.runNs);
    return { main, others, top: each.slice(0, busiest), other: sub(b.other, a.other) };
  }
}
