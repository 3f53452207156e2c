/**
 * The processes of a local cluster (`npm run cluster`): engine nodes and
 * gateways, each `npm run serve` with its role's environment, its log in a
 * file of its own; the lines worth an operator's eye (warnings, errors,
 * shard moves, fencing) are echoed to the terminal with the process's name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { SERVER_V8_FLAGS } from './server-flags.js';

/** Engine node or gateway. */
export type ClusterRole = 'engine' | 'gateway' | 'feed';

/** One process of the cluster. */
export interface ClusterProcess {
  readonly name: string;
  readonly role: ClusterRole;
  /** The gateway's or the ops port. */
  readonly port: number | undefined;
  child: ChildProcess | undefined;
  /** How it ended, once it did. */
  ended: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves when the running child exits. */
  exited: Promise<void>;
  /** When it was asked to stop, and how. */
  stopping: 'drain' | 'kill' | undefined;
}

/** Options of {@link ClusterProcesses}. */
export interface ClusterProcessesOptions {
  /** The repository's root (where engine/main/serve.ts is). */
  readonly cwd: string;
  /** Where each process's log goes (`<name>.log`). */
  readonly logDir: string;
  /** The environment every process gets (services, namespace, streams, token secret). */
  readonly env: Readonly<Record<string, string>>;
  /** Told of a line worth echoing, and of each exit. */
  readonly say: (line: string) => void;
}

/** Log lines echoed to the terminal besides warnings and errors. */
const NOTABLE =
  /moved|fenced|halt|takeover|acquired|released|draining|drained|serving shards|gateway started|engine node ready|stopped|lease/i;

/** Starts, drains and kills the cluster's processes. */
export class ClusterProcesses {
  readonly #o: ClusterProcessesOptions;
  readonly #procs = new Map<string, ClusterProcess>();
  readonly #logs = new Map<string, WriteStream>();

  constructor(options: ClusterProcessesOptions) {
    this.#o = options;
    mkdirSync(options.logDir, { recursive: true });
  }

  /** Every process, in the order they were first started. */
  all(): ClusterProcess[] {
    return [...this.#procs.values()];
  }

  get(name: string): ClusterProcess | undefined {
    return this.#procs.get(name);
  }

  running(role?: ClusterRole): ClusterProcess[] {
    return this.all().filter((p) => p.ended === undefined && p.child !== undefined && (role === undefined || p.role === role));
  }

  /** The first `n<k>` (or `g<k>`) not running, counting up from 1. */
  nextName(role: 'engine' | 'gateway'): string {
    const prefix = role === 'engine' ? 'n' : 'g';
    for (let k = 1; ; k++) {
      const p = this.#procs.get(`${prefix}${k}`);
      if (p === undefined || p.ended !== undefined) return `${prefix}${k}`;
    }
  }

  /** Start (or start again, under the same name and port) a process with `env` on top of the common environment. */
  start(
    name: string,
    role: ClusterRole,
    port: number | undefined,
    env: Record<string, string>,
    args: readonly string[] = ['engine/main/serve.ts'],
  ): ClusterProcess {
    const known = this.#procs.get(name);
    if (known !== undefined && known.ended === undefined) throw new Error(`${name} is running (pid ${known.child?.pid})`);
    let log = this.#logs.get(name);
    if (log === undefined) this.#logs.set(name, (log = createWriteStream(join(this.#o.logDir, `${name}.log`), { flags: 'a' })));
    const child = spawn(process.execPath, [...SERVER_V8_FLAGS, '--import', 'tsx', ...args], {
      cwd: this.#o.cwd,
      env: { ...process.env, ...this.#o.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const p: ClusterProcess = known ?? {
      name,
      role,
      port,
      child: undefined,
      ended: undefined,
      exited: Promise.resolve(),
      stopping: undefined,
    };
    p.child = child;
    p.ended = undefined;
    p.stopping = undefined;
    p.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        p.ended = { code, signal };
        this.#o.say(`${name} exited (${signal ?? `code ${code}`})`);
        resolve();
      }),
    );
    this.#procs.set(name, p);
    const sink = log;
    const echo = (stream: 'out' | 'err') => {
      let buffer = '';
      return (d: string): void => {
        sink.write(d);
        buffer += d;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const text = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          const line = readLine(text);
          if (line === undefined) {
            if (stream === 'err' && text.trim() !== '') this.#o.say(`${name}: ${text.slice(0, 300)}`);
          } else if (line.level >= 40 || NOTABLE.test(line.msg)) this.#o.say(`${name}: ${line.msg}${line.detail}`);
        }
        if (buffer.length > 65_536) buffer = ''; // a line that long is not one to echo
      };
    };
    child.stdout!.setEncoding('utf8').on('data', echo('out'));
    child.stderr!.setEncoding('utf8').on('data', echo('err'));
    return p;
  }

  /** SIGTERM: an engine node hands its shards over and exits; resolves once it exited (or after `ms`, then SIGKILL). */
  async drain(name: string, ms = 60_000): Promise<ClusterProcess> {
    const p = this.#running(name);
    p.stopping = 'drain';
    p.child!.kill('SIGTERM');
    const late = setTimeout(() => p.child?.kill('SIGKILL'), ms);
    await p.exited;
    clearTimeout(late);
    return p;
  }

  /** SIGKILL: no hand-over; its shards are taken over once its lease expires. */
  async kill(name: string): Promise<ClusterProcess> {
    const p = this.#running(name);
    p.stopping = 'kill';
    p.child!.kill('SIGKILL');
    await p.exited;
    return p;
  }

  /** Drain everything: gateways and the feed first, then the nodes one by one (each hands its shards to the others). */
  async stopAll(): Promise<void> {
    await Promise.all(
      this.running()
        .filter((p) => p.role !== 'engine')
        .map((p) => this.drain(p.name, 30_000)),
    );
    for (const p of this.running('engine')) await this.drain(p.name, 60_000);
    for (const log of this.#logs.values()) log.end();
  }

  #running(name: string): ClusterProcess {
    const p = this.#procs.get(name);
    if (p === undefined || p.ended !== undefined || p.child === undefined)
      throw new Error(
        `no running process '${name}' (${
          this.running()
            .map((r) => r.name)
            .join(', ') || 'none running'
        })`,
      );
    return p;
  }
}

/** A pino JSON line's level, message and a few telling fields. */
function readLine(text: string): { level: number; msg: string; detail: string } | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const l = JSON.parse(text) as Record<string, unknown>;
    const keep = ['moved', 'shards', 'epoch', 'shard', 'reason', 'node', 'gateway', 'err'];
    const detail = keep
      .filter((k) => l[k] !== undefined)
      .map((k) => `${k}=${k === 'err' ? String((l[k] as { message?: unknown }).message ?? '') : JSON.stringify(l[k])}`)
      .join(' ');
    return { level: Number(l['level'] ?? 30), msg: String(l['msg'] ?? ''), detail: detail === '' ? '' : ` (${detail.slice(0, 200)})` };
  } catch {
    return undefined;
  }
}
