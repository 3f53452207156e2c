/**
 * Runs `engine/main/serve.ts` for a fault test as a supervisor would (with the
 * server V8 flags, as `npm run serve` does): restarts
 * it when it exits by itself, and keeps, for each such exit, the exit code
 * and the reason the node logged last (its fatal or error line), so a test
 * can tell a fail-stop with a reason from a silent death.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { SERVER_V8_FLAGS } from '../../main/server-flags.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

/** Options of {@link EngineSupervisor}. */
export interface EngineSupervisorOptions {
  /** Names the log file. */
  readonly id: string;
  /** Environment on top of this process's. */
  readonly env: Record<string, string>;
  /** Rewrites the command line, e.g. to run it in a network namespace. @default as is */
  readonly wrap?: (cmd: string, args: string[]) => [string, string[]];
}

/** An exit the supervisor did not ask for. */
export interface SelfExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** The last fatal or error line the process logged (message and error); undefined when it logged none. */
  readonly reason: string | undefined;
}

/** Starts, restarts and stops the engine process; see the module comment. */
export class EngineSupervisor {
  readonly logFile: string;
  readonly selfExits: SelfExit[] = [];
  readonly #o: EngineSupervisorOptions;
  readonly #log: WriteStream;
  #child: ChildProcess | undefined;
  #stopping = false;

  constructor(o: EngineSupervisorOptions) {
    this.#o = o;
    this.logFile = join(tmpdir(), `${o.id}-engine.log`);
    this.#log = createWriteStream(this.logFile);
  }

  start(): void {
    this.#stopping = false;
    const [cmd, args] = (this.#o.wrap ?? ((c, a) => [c, a]))(process.execPath, [
      ...SERVER_V8_FLAGS,
      '--import',
      'tsx',
      'engine/main/serve.ts',
    ]);
    const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...this.#o.env } });
    let reason: string | undefined;
    const lines = createInterface({ input: proc.stdout! });
    lines.on('line', (l) => {
      this.#log.write(`${l}\n`);
      if (!l.startsWith('{')) return;
      try {
        const j = JSON.parse(l) as { level?: number; msg?: string; err?: { message?: string; code?: string } };
        if ((j.level ?? 0) >= 50)
          reason = `${j.msg ?? ''}${j.err === undefined ? '' : `: ${j.err.code ?? ''} ${j.err.message ?? ''}`.trimEnd()}`;
      } catch {
        // not a log line
      }
    });
    proc.stderr!.on('data', (d: Buffer) => this.#log.write(d));
    // 'close', not 'exit': every line the process wrote has been read.
    proc.once('close', (code, signal) => {
      if (this.#child !== proc || this.#stopping) return;
      this.selfExits.push({ code, signal, reason });
      this.start();
    });
    this.#child = proc;
  }

  /** SIGKILL now, without waiting (a test being interrupted). */
  killNow(): void {
    this.#stopping = true;
    this.#child?.kill('SIGKILL');
  }

  /** The running process's id. */
  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /**
   * SIGTERM and wait (SIGKILL after `graceMs`); resolves with the exit code
   * (null when it was killed by a signal, or was not running).
   */
  async stop(graceMs = 30_000): Promise<number | null> {
    return this.#end('SIGTERM', graceMs);
  }

  /** SIGKILL and wait until it is gone. */
  async kill(): Promise<void> {
    await this.#end('SIGKILL', 30_000);
  }

  async #end(signal: NodeJS.Signals, graceMs: number): Promise<number | null> {
    this.#stopping = true;
    const proc = this.#child;
    this.#child = undefined;
    let code: number | null = null;
    if (proc !== undefined && proc.exitCode === null && proc.signalCode === null) {
      const closed = new Promise<number | null>((r) => proc.once('close', (c) => r(c)));
      proc.kill(signal);
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      code = await closed;
      clearTimeout(timer);
    }
    if (!this.#log.writableEnded) await new Promise((r) => this.#log.end(r));
    return code;
  }
}
