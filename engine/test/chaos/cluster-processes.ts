/**
 * The processes of a local cluster, as the cluster test and bench run them:
 * engine nodes (`ENGINE_ROLE=engine NODE_ID=<name>`, ops HTTP on their own
 * port) and gateways (`ENGINE_ROLE=gateway`, WebSocket and HTTP on their own
 * port), each `engine/main/serve.ts` under an {@link EngineSupervisor} (one
 * per incarnation, so each has its own log; a process that exits by itself is
 * restarted, as its orchestrator would). Nodes are added, drained (SIGTERM:
 * they hand their shards over and exit 0) and killed (SIGKILL); gateways are
 * added and killed.
 */
import { createServer } from 'node:net';
import { EngineSupervisor, type SelfExit } from './engine-supervisor.js';

/** Options of {@link ClusterProcesses}. */
export interface ClusterProcessesOptions {
  /** Names log files and scratch directories. */
  readonly id: string;
  /** Environment of every process (NATS_URL, DATABASE_URL, NATS_NAMESPACE, streams, cluster settings...). */
  readonly env: Record<string, string>;
  /** More environment for engine nodes only. @default none */
  readonly nodeEnv?: Record<string, string>;
  /** More environment for gateways only. @default none */
  readonly gatewayEnv?: Record<string, string>;
}

/** A running process of the cluster. */
export interface ClusterProcess {
  readonly name: string;
  readonly role: 'engine' | 'gateway';
  /** The ops port of a node, the gateway port of a gateway. */
  readonly port: number;
  readonly supervisor: EngineSupervisor;
  /** When it was started (performance.now()). */
  readonly startedAt: number;
}

/** A port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

/** Starts and stops the cluster's processes; see the module comment. */
export class ClusterProcesses {
  readonly nodes = new Map<string, ClusterProcess>();
  readonly gateways = new Map<string, ClusterProcess>();
  /** Every log written, in start order. */
  readonly logs: string[] = [];
  /** Exits nobody asked for, with the process's name. */
  readonly selfExits: Array<SelfExit & { readonly name: string }> = [];
  readonly #o: ClusterProcessesOptions;
  readonly #incarnations = new Map<string, number>();
  #nextNode = 1;
  #nextGateway = 1;

  constructor(o: ClusterProcessesOptions) {
    this.#o = o;
  }

  /** Start an engine node (a new name `n<k>` unless given: a restarted node keeps its name). */
  async addNode(name = `n${this.#nextNode++}`): Promise<ClusterProcess> {
    if (this.nodes.has(name)) throw new Error(`node ${name} is running`);
    const port = await freePort();
    const p = this.#spawn(name, 'engine', port, {
      ...this.#o.nodeEnv,
      ENGINE_ROLE: 'engine',
      NODE_ID: name,
      OPS_PORT: String(port),
      GATEWAY_PORT: 'off',
      DATA_DIR: `/tmp/${this.#o.id}-${name}`,
    });
    this.nodes.set(name, p);
    return p;
  }

  /** Start a gateway. */
  async addGateway(name = `g${this.#nextGateway++}`): Promise<ClusterProcess> {
    if (this.gateways.has(name)) throw new Error(`gateway ${name} is running`);
    const port = await freePort();
    const p = this.#spawn(name, 'gateway', port, {
      ...this.#o.gatewayEnv,
      ENGINE_ROLE: 'gateway',
      GATEWAY_PORT: String(port),
      OPS_PORT: 'off',
    });
    this.gateways.set(name, p);
    return p;
  }

  /**
   * Start one process of role `all` (a solo node owning every shard, with its
   * gateway): the single-process baseline. Listed among the gateways.
   */
  async addSolo(name = 'solo'): Promise<ClusterProcess> {
    if (this.gateways.has(name)) throw new Error(`${name} is running`);
    const port = await freePort();
    const p = this.#spawn(name, 'gateway', port, {
      ...this.#o.nodeEnv,
      ...this.#o.gatewayEnv,
      ENGINE_ROLE: 'all',
      GATEWAY_PORT: String(port),
      OPS_PORT: 'off',
      DATA_DIR: `/tmp/${this.#o.id}-${name}`,
    });
    this.gateways.set(name, p);
    return p;
  }

  /** SIGTERM a node and wait for it to hand its shards over and exit; its exit code. */
  async drainNode(name: string, graceMs = 60_000): Promise<number | null> {
    const p = this.#take(this.nodes, name);
    return p.supervisor.stop(graceMs);
  }

  /** SIGKILL a node or a gateway and wait until it is gone. */
  async kill(name: string): Promise<void> {
    const p = this.nodes.has(name) ? this.#take(this.nodes, name) : this.#take(this.gateways, name);
    await p.supervisor.kill();
  }

  /** SIGTERM everything still running. */
  async stopAll(): Promise<void> {
    const all = [...this.gateways.values(), ...this.nodes.values()];
    this.gateways.clear();
    this.nodes.clear();
    await Promise.all(all.map((p) => p.supervisor.stop()));
  }

  /** SIGKILL everything now (a test being torn down after a failure). */
  killNow(): void {
    for (const p of [...this.gateways.values(), ...this.nodes.values()]) p.supervisor.killNow();
  }

  /** `ws://…/v1/ws` of every running gateway. */
  gatewayUrls(): string[] {
    return [...this.gateways.values()].map((g) => `ws://127.0.0.1:${g.port}/v1/ws`);
  }

  /** Base URL of every running node's ops HTTP, by name. */
  opsUrls(): Array<[string, string]> {
    return [...this.nodes.values()].map((n) => [n.name, `http://127.0.0.1:${n.port}`]);
  }

  #take(from: Map<string, ClusterProcess>, name: string): ClusterProcess {
    const p = from.get(name);
    if (p === undefined) throw new Error(`no running process ${name}`);
    from.delete(name);
    return p;
  }

  #spawn(name: string, role: 'engine' | 'gateway', port: number, env: Record<string, string>): ClusterProcess {
    const k = (this.#incarnations.get(name) ?? 0) + 1;
    this.#incarnations.set(name, k);
    const supervisor = new EngineSupervisor({ id: `${this.#o.id}-${name}.${k}`, env: { ...this.#o.env, ...env } });
    this.logs.push(supervisor.logFile);
    supervisor.start();
    const seen = supervisor.selfExits;
    const push = seen.push.bind(seen);
    seen.push = (...exits: SelfExit[]) => {
      for (const e of exits) this.selfExits.push({ ...e, name });
      return push(...exits);
    };
    return { name, role, port, supervisor, startedAt: performance.now() };
  }
}
