/**
 * A node's part in the cluster: its membership lease (renewed every third of
 * its TTL, judged by the database clock) and the allocation rounds. Each
 * round reads the live members and every shard's owner row, drops shards
 * whose row shows a newer owner, computes the target allocation over the live
 * members that are not draining, and hands over or takes at most `maxMoves`
 * shards each (move-planner.ts). Rounds come every `roundMs`, and every
 * 100 ms while a shard targeted here is still held elsewhere, so a hand-over
 * is picked up at once. A solo node has no lease; its rounds claim every
 * shard it does not serve.
 */
import { allocate, type Allocation } from './allocation.js';
import type { ClusterNodeOptions } from './cluster-node-options.js';

import type { Member, ShardOwner } from './cluster-ports.js';
import { planMoves } from './move-planner.js';
import type { ShardSlots } from './shard-slots.js';
import { VIRTUAL_SHARDS } from '../shard.js';

/** What the rounds ask of their node (`ClusterNode`, cluster-node.ts). */
export interface RoundsNode {
  acquireShards(wanted: ReadonlyArray<{ readonly shard: number; readonly epoch: number }>, force: boolean): Promise<number[]>;
  releaseShards(shards: readonly number[], chunk?: number): Promise<number[]>;
  drop(shard: number, epoch: number, why: 'fenced' | 'outcome unknown' | 'lease lapsed'): void;
  halt(err: Error, why: string): void;
}

/** What the rounds last saw, for the operator view. */
export interface ClusterView {
  readonly members: readonly Member[];
  readonly owners: ReadonlyMap<number, ShardOwner>;
  /** Shards this node took, handed over, and took from a member whose lease lapsed, since start. */
  readonly moves: { readonly acquire: number; readonly release: number; readonly takeover: number };
  /** Shards targeted here and still held by a live member. */
  readonly waiting: number;
}

/** Raised on the node when another process took its name. */
export class NodeReplacedError extends Error {
  readonly code = 'NODE_REPLACED';
  constructor(nodeId: string) {
    super(`another process joined as '${nodeId}': this one stops`);
    this.name = 'NodeReplacedError';
  }
}

const FAST_ROUND_MS = 100;
/** Shards handed over together within a round. */
const RELEASE_CHUNK = 32;

/** Lease and allocation rounds of one node; see the module comment. */
export class ClusterRounds {
  readonly #node: RoundsNode;
  readonly #slots: ShardSlots;
  readonly #o: ClusterNodeOptions;
  readonly #ttl: number;
  #incarnation = 0;
  #lastRenewed = performance.now();
  #renewing = false;
  /** Takes in progress. */
  readonly #taking = new Set<Promise<void>>();
  #heartbeat: NodeJS.Timeout | undefined;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #stopped = false;
  #draining = false;
  #allocation: { key: string; value: Allocation } | undefined;
  #view: ClusterView = { members: [], owners: new Map(), moves: { acquire: 0, release: 0, takeover: 0 }, waiting: 0 };
  #first!: () => void;
  /**
   * Resolves once a round finds nothing left to take now: every shard
   * targeted here is served (a solo node: every shard taken, or tried once).
   */
  readonly settled: Promise<void>;

  constructor(node: RoundsNode, slots: ShardSlots, o: ClusterNodeOptions) {
    this.#node = node;
    this.#slots = slots;
    this.#o = o;
    this.#ttl = o.leaseTtlMs ?? 10_000;
    this.settled = new Promise((r) => (this.#first = r));
  }

  get view(): ClusterView {
    return this.#view;
  }

  /** Take the node's name in the membership (a cluster node). */
  async join(): Promise<void> {
    const { membership, nodeId } = this.#o;
    if (nodeId === undefined || membership === undefined) return;
    this.#incarnation = (await membership.join(nodeId, this.#ttl, { pid: process.pid, ...this.#o.memberInfo })).incarnation;
    this.#lastRenewed = performance.now();
    this.#o.log?.info({ node: nodeId, incarnation: this.#incarnation, leaseTtlMs: this.#ttl }, 'joined the cluster');
  }

  start(): void {
    if (this.#o.nodeId !== undefined) {
      this.#heartbeat = setInterval(() => void this.#renew(), Math.max(100, Math.floor(this.#ttl / 3)));
      this.#heartbeat.unref();
    }
    this.#loop = this.#run();
  }

  /** Stop allocating and tell the others this node is draining (it then hands everything over). */
  async drain(): Promise<void> {
    this.#draining = true;
    await this.#stopLoop();
    const { membership, nodeId } = this.#o;
    if (nodeId !== undefined && membership !== undefined)
      await membership.setDraining(nodeId, this.#incarnation, true).catch(() => undefined);
  }

  /** Leave the membership: the others stop counting this node at once. */
  async leave(): Promise<void> {
    await this.stop();
    const { membership, nodeId } = this.#o;
    if (nodeId !== undefined && membership !== undefined)
      await membership
        .leave(nodeId, this.#incarnation)
        .catch((err: unknown) => this.#o.log?.warn({ err }, 'could not leave the membership; the lease lapses instead'));
  }

  /** Stop the rounds and the lease renewals (the lease then lapses). */
  async stop(): Promise<void> {
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat);
    await this.#stopLoop();
  }

  async #stopLoop(): Promise<void> {
    this.#stopped = true;
    this.#wake?.();
    await this.#loop;
    await Promise.all([...this.#taking]);
    this.#first();
  }

  async #run(): Promise<void> {
    const every = this.#o.roundMs ?? Math.min(1_000, Math.floor(this.#ttl / 4));
    while (!this.#stopped) {
      let fast = false;
      try {
        fast = this.#o.nodeId === undefined ? await this.#soloRound() : await this.#round();
        if (!fast) this.#first();
      } catch (err) {
        this.#o.log?.warn({ err }, 'allocation round failed; the next one tries again');
      }
      if (this.#stopped) break;
      await new Promise<void>((r) => {
        const t = setTimeout(r, fast ? FAST_ROUND_MS : every);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.#wake = undefined;
    }
  }

  async #soloRound(): Promise<boolean> {
    const busy = this.#slots.busy;
    const want: Array<{ shard: number; epoch: number }> = [];
    for (let v = 0; v < VIRTUAL_SHARDS; v++) if (!busy.has(v)) want.push({ shard: v, epoch: -1 });
    if (want.length === 0) return false;
    const taken = await this.#node.acquireShards(want, true);
    this.#count('acquire', taken.length);
    if (taken.length < want.length)
      this.#o.log?.warn({ taken: taken.length, wanted: want.length }, 'not every shard could be taken; the next round tries again');
    this.#first(); // tried once: ready or not, the node answers (NOT_OWNER for what it could not take)
    return false;
  }

  async #round(): Promise<boolean> {
    const { membership, store, nodeId, clusterMetrics: metrics } = this.#o;
    const me = nodeId!;
    const [members, rows] = await Promise.all([membership!.live(), store.owners()]);
    const owners = new Map(rows.map((r) => [r.shard, r]));
    const live = new Set(members.map((m) => m.nodeId));
    metrics?.members.set(members.length);
    // A newer owner took a shard served here (seen before any write of it is refused). A row
    // older than the slot is a read from before this node's own claim: it says nothing.
    for (const s of this.#slots.all()) {
      const row = owners.get(s.shard);
      if (s.state === 'serving' && row !== undefined && row.epoch > s.epoch) this.#node.drop(s.shard, s.epoch, 'fenced');
    }
    let unowned = 0;
    for (let v = 0; v < VIRTUAL_SHARDS; v++) {
      const row = owners.get(v);
      if (row === undefined || row.released || row.ownerNode === null || !live.has(row.ownerNode)) unowned++;
    }
    metrics?.shardsUnowned.set(unowned);
    const active = members.filter((m) => !m.draining && !(m.nodeId === me && this.#draining)).map((m) => m.nodeId);
    const target = active.length === 0 ? undefined : this.#allocate(active);
    const plan = planMoves({
      me,
      target,
      owners,
      live,
      busy: this.#slots.busy,
      serving: this.#slots.served,
      maxMoves: this.#o.maxMoves ?? 128,
    });
    if (plan.orphans.size > 0) {
      const released = await store.release(plan.orphans);
      if (released.length > 0) this.#o.log?.info({ shards: released.length }, 'released shards held under this name and not served');
    }
    if (this.#stopped) return false;
    this.#view = { ...this.#view, members, owners, waiting: plan.waiting };
    // Takes run on while the next rounds go on (a hand-over elsewhere is picked up at once);
    // shards being taken count against this round's bound.
    let acquiring = 0;
    for (const slot of this.#slots.all()) if (slot.state === 'acquiring') acquiring++;
    const take = plan.acquire.slice(0, Math.max(0, (this.#o.maxMoves ?? 128) - acquiring));
    if (take.length > 0) {
      const kinds = new Map(
        take.map((a) => {
          const row = owners.get(a.shard);
          const takeover = row !== undefined && !row.released && row.ownerNode !== null && row.ownerNode !== me && !live.has(row.ownerNode);
          return [a.shard, takeover ? ('takeover' as const) : ('acquire' as const)];
        }),
      );
      const taking = this.#node
        .acquireShards(take, false)
        .then((acquired) => {
          this.#count('acquire', acquired.filter((v) => kinds.get(v) === 'acquire').length);
          this.#count('takeover', acquired.filter((v) => kinds.get(v) === 'takeover').length);
          if (acquired.length > 0)
            this.#o.log?.info(
              { moved: acquired.length, acquired: acquired.length, members: active.length, serving: this.#slots.served.size },
              `moved ${acquired.length} shards`,
            );
        })
        .finally(() => this.#taking.delete(taking));
      this.#taking.add(taking);
    }
    const released = plan.release.length === 0 ? [] : await this.#node.releaseShards(plan.release, RELEASE_CHUNK);
    this.#count('release', released.length);
    if (released.length > 0) {
      this.#o.log?.info(
        {
          moved: released.length,
          released: released.length,
          members: active.length,
          serving: this.#slots.served.size,
          waiting: plan.waiting,
        },
        `moved ${released.length} shards`,
      );
    }
    return plan.waiting > 0 || released.length > 0 || plan.acquire.length > 0 || this.#taking.size > 0;
  }

  #count(kind: 'acquire' | 'release' | 'takeover', n: number): void {
    if (n === 0) return;
    this.#o.clusterMetrics?.moves.inc({ kind }, n);
    this.#view = { ...this.#view, moves: { ...this.#view.moves, [kind]: this.#view.moves[kind] + n } };
  }

  #allocate(members: readonly string[]): Allocation {
    const key = [...members].sort().join('\u0000');
    if (this.#allocation?.key !== key) this.#allocation = { key, value: allocate(members) };
    return this.#allocation.value;
  }

  async #renew(): Promise<void> {
    const { membership, nodeId, clusterMetrics: metrics, log } = this.#o;
    if (this.#stopped && !this.#draining) return;
    // A renewal still out (a database that does not answer) counts as failing, not as a second request.
    if (this.#renewing) return this.#lapsedLocally();
    this.#renewing = true;
    try {
      const outcome = await membership!.renew(nodeId!, this.#incarnation, this.#ttl);
      if (outcome === 'replaced') {
        metrics?.leaseRenewFailures.inc();
        this.#node.halt(new NodeReplacedError(nodeId!), 'replaced under its name');
        return;
      }
      if (outcome === 'lapsed') {
        metrics?.leaseRenewFailures.inc();
        log?.warn({ node: nodeId }, 'the lease had lapsed before it was renewed: shards may have been taken over');
      }
      this.#lastRenewed = performance.now();
    } catch (err) {
      metrics?.leaseRenewFailures.inc();
      log?.warn({ err }, 'lease renewal failed');
      this.#lapsedLocally();
    } finally {
      this.#renewing = false;
    }
  }

  /** Past a whole TTL without a renewal the others may take every shard served here: stop serving them first. */
  #lapsedLocally(): void {
    if (performance.now() - this.#lastRenewed <= this.#ttl) return;
    for (const s of [...this.#slots.all()]) if (s.state === 'serving') this.#node.drop(s.shard, s.epoch, 'lease lapsed');
  }
}
