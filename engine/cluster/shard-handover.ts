/**
 * Handing served shards over: intake for them answers `NOT_OWNER` (or
 * `NOT_READY`), their journal batches in flight settle, their actors leave
 * the engine at an input boundary, and their owner rows are marked released,
 * with a final checkpoint when the node leaves for good (or is solo), without
 * one on a cluster move (the taker catches up from the last periodic
 * checkpoint, the journal and the market log, from memory when recent).
 */
import type { Logger } from 'pino';
import type { Engine } from '../engine.js';
import type { ClusterMetrics } from './cluster-metrics.js';
import type { ShardStore } from './cluster-ports.js';
import type { IntakeJournal } from './intake-journal.js';
import type { ShardCheckpointer } from './shard-checkpointer.js';
import type { ShardSlot, ShardSlots } from './shard-slots.js';

/** What a {@link ShardHandover} works with: the node's parts. */
export interface ShardHandoverDeps {
  readonly engine: Engine;
  readonly store: ShardStore;
  readonly slots: ShardSlots;
  readonly intake: IntakeJournal;
  readonly checkpointer: ShardCheckpointer;
  readonly metrics?: ClusterMetrics | undefined;
  readonly log?: Logger | undefined;
}

/** Hands a node's served shards over. */
export class ShardHandover {
  readonly #d: ShardHandoverDeps;

  constructor(deps: ShardHandoverDeps) {
    this.#d = deps;
  }

  /** Hand these served shards over, `chunk` at a time; `checkpoint`: with a final checkpoint of each. Resolves with those released (not fenced). */
  async release(shards: readonly number[], chunk: number, checkpoint: boolean): Promise<number[]> {
    const chunks: Array<Promise<number[]>> = [];
    // In chunks: a shard waits only for its own chunk's hand-over, not for the whole round's. The next
    // chunk starts once this one's actors left the engine: marking them released (a database write)
    // overlaps the next chunk's removal instead of coming before it.
    for (let i = 0; i < shards.length; i += chunk) {
      let removed!: () => void;
      const out = new Promise<void>((r) => (removed = r));
      const done = this.#release(shards.slice(i, i + chunk), checkpoint, removed);
      chunks.push(done);
      await Promise.race([out, done]);
    }
    return (await Promise.all(chunks)).flat();
  }

  /** `removed`: called once the shards' actors left the engine (a warm release). */
  async #release(shards: readonly number[], checkpoint: boolean, removed: () => void): Promise<number[]> {
    const { slots, intake, log } = this.#d;
    const list = shards.map((v) => slots.serving(v)).filter((s): s is ShardSlot => s !== undefined);
    if (list.length === 0) return [];
    for (const s of list) {
      slots.leave(s, 'releasing');
      intake.refuseShard(s.shard);
    }
    const t0 = performance.now();
    await Promise.all(list.map((s) => intake.settled(s.shard)));
    const settledAt = performance.now();
    const times = { engineMs: 0, storeMs: 0 };
    const { fenced, failed } = await (checkpoint ? this.#d.checkpointer.release(list) : this.#warmRelease(list, times, removed)).catch(
      (err: unknown) => {
        log?.error({ err }, 'hand-over failed');
        return { fenced: [] as number[], failed: true };
      },
    );
    for (const s of list) slots.remove(s);
    log?.info(
      {
        shards: list.length,
        settleMs: Math.round(settledAt - t0),
        saveMs: Math.round(performance.now() - settledAt),
        ...(checkpoint ? {} : { engineMs: Math.round(times.engineMs), storeMs: Math.round(times.storeMs) }),
      },
      'shards handed over',
    );
    if (fenced.length > 0) this.#d.metrics?.fenced.inc(fenced.length);
    if (failed)
      log?.warn(
        { shards: list.map((s) => s.shard) },
        'hand-over checkpoint not saved: the shards are released from their previous checkpoint',
      );
    return list.map((s) => s.shard).filter((v) => !fenced.includes(v));
  }

  /**
   * A cluster hand-over without a final checkpoint: the shards' actors leave
   * the engine at this input boundary (their last journal batch is settled)
   * and the owner rows are marked released. The taker catches them up from
   * their last checkpoint, the journal and the market log (which it holds in
   * memory when the checkpoint is recent), exactly as after a crash, so the
   * pause of a move is two small writes here plus its catch-up, not a
   * checkpoint written behind the periodic ones. Resolves as
   * {@link ShardCheckpointer.release} does.
   */
  async #warmRelease(
    list: readonly ShardSlot[],
    times: { engineMs: number; storeMs: number },
    removed: () => void,
  ): Promise<{ fenced: number[]; failed: boolean }> {
    const t0 = performance.now();
    await this.#d.engine.release(list.map((s) => s.shard));
    removed();
    const t1 = performance.now();
    times.engineMs = t1 - t0;
    const held = new Map(list.map((s) => [s.shard, s.epoch]));
    for (let attempt = 1; ; attempt++) {
      try {
        const marked = new Set(await this.#d.store.release(held));
        times.storeMs = performance.now() - t1;
        return { fenced: list.map((s) => s.shard).filter((v) => !marked.has(v)), failed: false };
      } catch (err) {
        this.#d.log?.warn({ err, shards: list.length, attempt }, 'marking shards released failed');
        // Still held under this name: a later round marks them released (move-planner.ts, orphans).
        if (attempt >= 3) return { fenced: [], failed: true };
        await new Promise((r) => setTimeout(r, 200 * attempt));
      }
    }
  }
}
