/**
 * Taking shards: claim them (epoch + 1), load their checkpoints and their
 * journal entries after them, catch them up in this thread to the live
 * position (shard-catch-up.ts), and have the engine adopt their actors at
 * that input boundary; then intake for them opens. A shard with neither a
 * checkpoint nor journal entries gets an empty first checkpoint at the
 * current boundary and serves from there (so every shard with journal
 * entries has a checkpoint to start from).
 */
import type { Logger } from 'pino';
import type { Instrument, Tier } from '../../actors/index.js';
import type { Engine, EngineOutput } from '../engine.js';
import type { JournalRecord, MarketInput, MarketLog } from '../node/ports.js';
import { shardOf } from '../shard.js';
import type { ClusterMetrics } from './cluster-metrics.js';
import type { ShardCheckpoint, ShardJournal, ShardStore } from './cluster-ports.js';
import { RecentMarket } from './recent-market.js';
import { type CatchUpStats, ShardCatchUp } from './shard-catch-up.js';
import type { ShardCheckpointer } from './shard-checkpointer.js';
import type { ShardSlot, ShardSlots } from './shard-slots.js';

/** What the acquirer needs of its node. */
export interface ShardAcquirerDeps {
  readonly store: ShardStore;
  readonly journal: ShardJournal;
  readonly market: MarketLog;
  readonly engine: Engine;
  readonly slots: ShardSlots;
  readonly checkpointer: ShardCheckpointer;
  readonly output?: EngineOutput | undefined;
  /** Tiers and instruments of a shard replayed from the first market input. */
  readonly tiers: readonly Tier[];
  readonly instruments: readonly Instrument[];
  /** This node's name (null: solo). */
  readonly nodeId: string | null;
  readonly lastSeq: () => number;
  readonly stopping: () => boolean;
  /** The engine failed: the node stops. */
  readonly onEngineFailure: (err: Error) => void;
  /** Market inputs kept in memory for catch-ups from recent checkpoints. @default 50_000 */
  readonly recentInputs?: number;
  /** Called once a take has registered its catch-up with the pump (or ended without one). @default none */
  readonly onRegistered?: () => void;
  readonly metrics?: ClusterMetrics | undefined;
  readonly log?: Logger | undefined;
}

/** Takes shards for a node; see the module comment. */
export class ShardAcquirer {
  readonly #d: ShardAcquirerDeps;
  readonly #catchUps = new Map<ShardCatchUp, { readonly slots: readonly ShardSlot[]; readonly done: (adoptMs: number) => void }>();
  readonly #recent: RecentMarket;

  constructor(deps: ShardAcquirerDeps) {
    this.#d = deps;
    this.#recent = new RecentMarket(deps.recentInputs ?? 50_000, deps.lastSeq());
  }

  /** The ring of recent market inputs catch-ups read from (the node backfills it at start). */
  get recent(): RecentMarket {
    return this.#recent;
  }

  /** Catch-ups in progress. */
  get pending(): number {
    return this.#catchUps.size;
  }

  /**
   * Claim and take these shards (`epoch`: the owner epoch seen, 0 for none;
   * `force` takes them whatever holds them, for a solo node). Resolves with
   * the shards now served.
   */
  async acquire(wanted: ReadonlyArray<{ readonly shard: number; readonly epoch: number }>, force: boolean): Promise<number[]> {
    const { slots: table, store } = this.#d;
    const slots = wanted.map((w) => table.begin(w.shard)).filter((s): s is ShardSlot => s !== undefined);
    if (slots.length === 0 || this.#d.stopping()) {
      for (const s of slots) table.remove(s);
      return [];
    }
    const t0 = performance.now();
    try {
      const epochs = await store.claim(
        slots.map((s) => s.shard),
        {
          node: this.#d.nodeId,
          force,
          ...(force ? {} : { expected: new Map(wanted.map((w) => [w.shard, w.epoch])) }),
        },
      );
      const taken: ShardSlot[] = [];
      for (const s of slots) {
        const e = epochs.get(s.shard);
        if (e === undefined) table.remove(s);
        else {
          s.epoch = e;
          taken.push(s);
        }
      }
      if (taken.length === 0) return [];
      const claimedAt = performance.now();
      const cps = await store.load(taken.map((s) => s.shard));
      const checkpointsAt = performance.now();
      const entries = new Map<number, JournalRecord[]>();
      for await (const page of this.#d.journal.readShards(new Map(taken.map((s) => [s.shard, cps.get(s.shard)?.journalPos ?? 0])))) {
        for (const e of page) {
          const v = shardOf(e.input.assessmentId);
          const list = entries.get(v);
          if (list === undefined) entries.set(v, [e]);
          else list.push(e);
        }
      }
      for (const s of taken) {
        const cp = cps.get(s.shard);
        if (cp !== undefined) [s.version, s.journalPos] = [cp.version, cp.journalPos];
      }
      const loadedAt = performance.now();
      const fresh = taken.filter((s) => !cps.has(s.shard) && !entries.has(s.shard));
      // A checkpoint without actors and no journal entry after it holds no state of its own (the
      // market's is the engine's): the shard serves from this boundary, its checkpoint rewritten next time.
      const empty = taken.filter((s) => cps.get(s.shard)?.actors.length === 0 && !entries.has(s.shard));
      for (const s of empty) if (s.state === 'acquiring') this.#d.slots.serve(s);
      const rest = taken.filter((s) => (cps.has(s.shard) || entries.has(s.shard)) && !empty.includes(s));
      const [, caughtUp] = await Promise.all([this.#takeFresh(fresh), this.#catchUp(rest, cps, entries)]);
      const end = performance.now();
      this.#d.metrics?.catchupSeconds.observe((end - t0) / 1000);
      const served = taken.filter((s) => table.get(s.shard) === s && s.state === 'serving').map((s) => s.shard);
      this.#d.log?.info(
        {
          shards: served.length,
          checkpoints: cps.size,
          journalEntries: [...entries.values()].reduce((n, l) => n + l.length, 0),
          claimMs: Math.round(claimedAt - t0),
          loadMs: Math.round(loadedAt - claimedAt),
          checkpointsMs: Math.round(checkpointsAt - claimedAt),
          journalMs: Math.round(loadedAt - checkpointsAt),
          catchUpMs: Math.round(end - loadedAt),
          ...(caughtUp === undefined ? {} : catchUpFields(caughtUp)),
        },
        'shards taken',
      );
      return served;
    } catch (err) {
      this.#d.log?.warn({ err, shards: slots.length }, 'taking shards failed; the next round tries again');
      for (const s of slots) if (s.state === 'acquiring' || s.state === 'dropping') table.remove(s);
      return [];
    } finally {
      this.#d.onRegistered?.();
    }
  }

  /** A market input the live pump just applied: every catch-up follows, and those now done are adopted. */
  onMarket(m: MarketInput): void {
    this.#recent.push(m);
    for (const [c] of this.#catchUps) {
      c.onMarket(m);
      if (c.done) this.#adopt(c);
    }
  }

  /** Give up every catch-up in progress (the node stops). */
  abandon(): void {
    for (const [c, w] of this.#catchUps) {
      this.#catchUps.delete(c);
      for (const s of w.slots) this.#d.slots.remove(s);
      w.done(0);
    }
  }

  async #takeFresh(slots: readonly ShardSlot[]): Promise<void> {
    if (slots.length === 0) return;
    const fenced = new Set(await this.#d.checkpointer.claimed(slots));
    for (const s of slots) {
      if (fenced.has(s.shard) || s.state !== 'acquiring') this.#d.slots.remove(s);
      else this.#d.slots.serve(s); // no actors to adopt: it serves from this boundary on
    }
  }

  #catchUp(
    slots: readonly ShardSlot[],
    cps: ReadonlyMap<number, ShardCheckpoint>,
    entries: ReadonlyMap<number, JournalRecord[]>,
  ): Promise<(CatchUpStats & { adoptMs: number }) | undefined> {
    if (slots.length === 0) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const c = new ShardCatchUp(
        slots.map((s) => ({ shard: s.shard, checkpoint: cps.get(s.shard), entries: entries.get(s.shard) ?? [] })),
        this.#d.lastSeq(),
        {
          tiers: this.#d.tiers,
          instruments: this.#d.instruments,
          onEvents: (events) => this.#d.output?.onEvents(events, -1),
        },
      );
      // Registered at this boundary: the pump hands it every input from here on.
      this.#catchUps.set(c, { slots, done: (adoptMs) => resolve({ ...c.stats, adoptMs }) });
      this.#d.onRegistered?.();
      const finish = (): void => {
        if (c.done && this.#catchUps.has(c)) this.#adopt(c);
      };
      if (!c.needsHistory) return finish();
      // A recent checkpoint (a hand-over's) catches up from memory at this boundary: no reader to open.
      const recent = this.#recent.since(c.from);
      if (recent !== undefined) {
        c.catchUpFrom(recent);
        return finish();
      }
      c.readHistory(this.#d.market, this.#d.stopping).then(finish, (err: unknown) => {
        this.#catchUps.delete(c);
        reject(err instanceof Error ? err : new Error(String(err)));
      });
    });
  }

  /** At the current input boundary: the engine takes the caught-up actors, and their shards serve. */
  #adopt(c: ShardCatchUp): void {
    const w = this.#catchUps.get(c);
    if (w === undefined) return;
    this.#catchUps.delete(c);
    const t0 = performance.now();
    const table = this.#d.slots;
    const keep = new Set(w.slots.filter((s) => s.state === 'acquiring' && table.get(s.shard) === s).map((s) => s.shard));
    const actors = c.actors().filter((a) => keep.has(shardOf(a.state.id)));
    try {
      this.#d.engine.adopt(actors);
    } catch (err) {
      this.#d.onEngineFailure(err instanceof Error ? err : new Error(String(err)));
      w.done(performance.now() - t0);
      return;
    }
    for (const a of actors) table.get(shardOf(a.state.id))!.known.add(a.state.id);
    for (const s of w.slots) {
      if (!keep.has(s.shard)) {
        table.remove(s); // dropped while it caught up
        continue;
      }
      s.journalPos = c.journalPos(s.shard);
      s.due = true; // its stored checkpoint is behind: the next one writes it
      table.serve(s);
    }
    w.done(performance.now() - t0);
  }
}

/** A catch-up's figures for the take's log line, in whole ms. */
function catchUpFields(s: CatchUpStats & { adoptMs: number }): Record<string, number | string> {
  return {
    kernels: s.kernels,
    joined: s.joined,
    marketApplied: s.applied,
    history: s.history,
    restoreMs: Math.round(s.restoreMs),
    applyMs: Math.round(s.applyMs),
    adoptMs: Math.round(s.adoptMs),
  };
}
