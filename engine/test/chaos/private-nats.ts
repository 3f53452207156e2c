/**
 * A NATS server (with JetStream) of the test's own: its own port and store
 * directory, started and restarted by its process id, so a test can restart
 * NATS without touching the server other runs on this machine share. The
 * store directory outlives a restart, as a real server's disk does: streams
 * and their messages are still there when it comes back.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portOpen } from '../../testing/service-gate.js';
import { freePort } from './cluster-processes.js';

/** Where the nats-server binary is looked for. */
export const NATS_SERVER_BINARY = process.env['NATS_SERVER_BIN'] ?? '/usr/sbin/nats-server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One private nats-server; see the module comment. */
export class PrivateNats {
  readonly port: number;
  readonly storeDir: string;
  #proc: ChildProcess | undefined;

  private constructor(port: number, storeDir: string) {
    this.port = port;
    this.storeDir = storeDir;
  }

  /** Whether the binary is installed. */
  static available(): boolean {
    return existsSync(NATS_SERVER_BINARY);
  }

  /** Start on a free port with a fresh store directory; resolves once it accepts connections. */
  static async start(id: string): Promise<PrivateNats> {
    const dir = join(tmpdir(), `nats-${id}`);
    mkdirSync(dir, { recursive: true });
    const n = new PrivateNats(await freePort(), dir);
    await n.#spawn();
    return n;
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  /** SIGTERM the server, wait for it to exit and for the port to close, then start it again. */
  async restart(pauseMs = 500): Promise<void> {
    await this.#stop();
    await sleep(pauseMs);
    await this.#spawn();
  }

  /** SIGKILL it now, without waiting (the test's process is exiting). */
  killNow(): void {
    this.#proc?.kill('SIGKILL');
  }

  /** Stop it and remove its store. */
  async close(): Promise<void> {
    await this.#stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }

  async #spawn(): Promise<void> {
    const proc = spawn(NATS_SERVER_BINARY, ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir], { stdio: 'ignore' });
    this.#proc = proc;
    const end = Date.now() + 30_000;
    while (!(await portOpen('127.0.0.1', this.port, 200))) {
      if (proc.exitCode !== null) throw new Error(`nats-server exited with code ${proc.exitCode} on port ${this.port}`);
      if (Date.now() > end) throw new Error(`nats-server did not listen on ${this.port} within 30 s`);
      await sleep(50);
    }
  }

  async #stop(): Promise<void> {
    const proc = this.#proc;
    this.#proc = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
