/**
 * Watches a running cluster the way an operator would: every few hundred
 * milliseconds it asks each node's ops port for `/v1/operator/shards` and
 * feeds what each says it serves into an {@link OwnershipLog}. It also tells
 * when the cluster has settled after a change: every one of the 1,024 shards
 * served by exactly one running node, the expected nodes each serving some,
 * and nothing changing for a while.
 */
import { VIRTUAL_SHARDS } from '../../index.js';
import { OwnershipLog } from './ownership-log.js';

/** Options of {@link ClusterObserver}. */
export interface ClusterObserverOptions {
  /** Running nodes and the base URL of their ops HTTP (asked each round). */
  readonly nodes: () => ReadonlyArray<readonly [string, string]>;
  /** Bearer token sent to the ops port (an operator's). */
  readonly token?: string;
  /** Time between polls, ms. @default 250 */
  readonly intervalMs?: number;
  /** Per-request timeout, ms. @default 2_000 */
  readonly timeoutMs?: number;
}

/** What one node answered in the latest round. */
export interface NodeAnswer {
  readonly node: string;
  readonly at: number;
  readonly serving: ReadonlyMap<number, number>;
  /** The answer as sent (members, moves, lag, ...). */
  readonly body: unknown;
}

/**
 * The shards a node says it serves now, with their owner epochs, from its
 * `/v1/operator/shards` answer: the entries of `shards` that carry a `lag`
 * (given only for shards served here), at the epoch of their owner row.
 */
export function servingFrom(body: unknown): Map<number, number> {
  const list = (body as { shards?: unknown }).shards;
  if (!Array.isArray(list)) throw new Error('no "shards" list in the answer of /v1/operator/shards');
  const out = new Map<number, number>();
  for (const x of list as Array<{ shard?: unknown; epoch?: unknown; lag?: unknown }>) {
    if (x.lag !== undefined && typeof x.shard === 'number') out.set(x.shard, typeof x.epoch === 'number' ? x.epoch : 0);
  }
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls the nodes; see the module comment. */
export class ClusterObserver {
  readonly log = new OwnershipLog();
  /** Latest answer of each node. */
  readonly latest = new Map<string, NodeAnswer>();
  /** Failed polls by node (a node starting, stopping or killed). */
  readonly failures = new Map<string, number>();
  /** When the served map last changed (performance.now()). */
  changedAt = performance.now();
  readonly #o: ClusterObserverOptions;
  #running = true;
  readonly #loop: Promise<void>;
  #signature = '';

  constructor(o: ClusterObserverOptions) {
    this.#o = o;
    this.#loop = this.#run();
  }

  /** A node is gone: forget its latest answer and end its stretches. */
  gone(node: string): void {
    this.latest.delete(node);
    this.log.gone(node);
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Shards served by more than one node, and shards served by none, in the latest answers of `nodes`. */
  coverage(nodes: readonly string[]): { doubled: number; missing: number; counts: Map<string, number> } {
    const seen = new Uint16Array(VIRTUAL_SHARDS);
    const counts = new Map<string, number>();
    for (const n of nodes) {
      const a = this.latest.get(n);
      counts.set(n, a?.serving.size ?? 0);
      for (const s of a?.serving.keys() ?? []) if (s >= 0 && s < VIRTUAL_SHARDS) seen[s]!++;
    }
    let doubled = 0;
    let missing = 0;
    for (const c of seen) {
      if (c === 0) missing++;
      else if (c > 1) doubled++;
    }
    return { doubled, missing, counts };
  }

  /**
   * Wait (bounded) until exactly `nodes` answer, every shard is served by one
   * of them, each serves at least `minShare` shards, and nothing changed for
   * `stableMs`. Resolves with the time it was first so (performance.now()).
   */
  async settled(nodes: readonly string[], o: { minShare?: number; stableMs?: number; timeoutMs?: number } = {}): Promise<number> {
    const end = performance.now() + (o.timeoutMs ?? 120_000);
    const stable = o.stableMs ?? 1_500;
    const minShare = o.minShare ?? 1;
    for (;;) {
      const c = this.coverage(nodes);
      const whole =
        c.doubled === 0 && c.missing === 0 && [...c.counts.values()].every((n) => n >= minShare) && nodes.every((n) => this.latest.has(n));
      if (whole && performance.now() - this.changedAt >= stable) return this.changedAt;
      if (performance.now() > end) {
        throw new Error(
          `cluster did not settle on ${nodes.join(', ')}: ${c.missing} shards unserved, ${c.doubled} served twice, shares ${[...c.counts].map(([n, k]) => `${n}=${k}`).join(' ')}`,
        );
      }
      await sleep(100);
    }
  }

  async #poll(node: string, base: string): Promise<void> {
    const sentAt = performance.now();
    try {
      const res = await fetch(`${base}/v1/operator/shards`, {
        headers: this.#o.token === undefined ? {} : { authorization: `Bearer ${this.#o.token}` },
        signal: AbortSignal.timeout(this.#o.timeoutMs ?? 2_000),
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      const receivedAt = performance.now();
      const serving = servingFrom(body);
      this.log.add({ node, sentAt, receivedAt, serving });
      this.latest.set(node, { node, at: receivedAt, serving, body });
    } catch {
      this.failures.set(node, (this.failures.get(node) ?? 0) + 1);
    }
  }

  async #run(): Promise<void> {
    while (this.#running) {
      const nodes = this.#o.nodes();
      await Promise.all(nodes.map(([n, base]) => this.#poll(n, base)));
      const running = new Set(nodes.map(([n]) => n));
      for (const n of [...this.latest.keys()]) if (!running.has(n)) this.gone(n);
      const signature = [...this.latest.values()]
        .sort((a, b) => (a.node < b.node ? -1 : 1))
        .map((a) => `${a.node}:${[...a.serving].sort((x, y) => x[0] - y[0]).join(',')}`)
        .join('|');
      if (signature !== this.#signature) {
        this.#signature = signature;
        this.changedAt = performance.now();
      }
      await sleep(this.#o.intervalMs ?? 250);
    }
  }
}
