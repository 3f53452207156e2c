/**
 * A cluster node's checkpoints, one at a time (so a shard's versions are
 * written in order): periodic ones of every shard it serves, the last one of
 * shards it hands over, and the first one of shards it claims without any.
 * Each is taken at an input boundary (the synchronous part of the call) and
 * saved in one transaction in which every shard is fenced by its own epoch;
 * a shard refused there is dropped, not the node.
 */
import type { Logger } from 'pino';
import type { Engine, EngineOutput } from '../engine.js';
import type { NodeMetrics } from '../node/node-metrics.js';
import type { ActorSnapshot } from '../shard-kernel.js';
import { shardOf } from '../shard.js';
import type { KernelMeta, ShardCheckpointWrite, ShardStore } from './cluster-ports.js';
import type { ShardSlot, ShardSlots } from './shard-slots.js';

/** What the checkpointer needs of its node. */
export interface ShardCheckpointerDeps {
  readonly store: ShardStore;
  readonly engine: Engine;
  readonly slots: ShardSlots;
  readonly output?: EngineOutput | undefined;
  /** The market seq applied last. */
  readonly lastSeq: () => number;
  /** The kernel's shared state at the current boundary. */
  readonly meta: () => KernelMeta;
  /**
   * Write every served shard each time (a solo node: all shards then share one
   * market position, and a restart replays no market history per shard).
   * Otherwise a shard is written when an actor of it changed, when it was just
   * taken, or when its stored checkpoint is older than `staleMs`.
   */
  readonly everyShard: boolean;
  /** @default 60_000 */
  readonly staleMs?: number | undefined;
  /**
   * Longest wait for the output's events to be out before a checkpoint, ms:
   * past it a periodic checkpoint is given up (the next one carries every
   * actor) and a hand-over goes on, so claims and hand-overs queued behind it
   * do not wait on JetStream acks after a reconnect. @default 2_000
   */
  readonly flushTimeoutMs?: number | undefined;
  /** A shard's write was refused: a newer owner holds it. */
  readonly onFenced: (shard: number, epoch: number) => void;
  readonly metrics?: NodeMetrics | undefined;
  readonly log?: Logger | undefined;
}

/** The node's checkpoints; see the module comment. */
export class ShardCheckpointer {
  readonly #d: ShardCheckpointerDeps;
  #chain: Promise<unknown> = Promise.resolve();
  #nextFull = false;
  #periodic: Promise<void> | undefined;

  constructor(deps: ShardCheckpointerDeps) {
    this.#d = deps;
  }

  /** Checkpoint every served shard (coalesced: a call while one is queued joins it). */
  checkpointNow(): Promise<void> {
    this.#periodic ??= this.#serial(() => this.#checkpoint()).finally(() => (this.#periodic = undefined));
    return this.#periodic;
  }

  /**
   * Hand shards over: at the next turn, remove their actors from the engine at
   * an input boundary, save them with the boundary's positions and mark the
   * shards released, all in one transaction. Resolves with the shards refused
   * (a newer owner) and whether the save failed (the shards left the engine
   * either way; a failed save leaves their previous checkpoint).
   */
  release(slots: readonly ShardSlot[]): Promise<{ fenced: number[]; failed: boolean }> {
    return this.#serial(async () => {
      if (slots.length === 0) return { fenced: [], failed: false };
      const { engine, store } = this.#d;
      const tickSeq = this.#d.lastSeq();
      const meta = this.#d.meta();
      const inputPos = engine.position - 1;
      const marks = slots.map((s) => ({ shard: s.shard, epoch: s.epoch, version: s.version + 1, journalPos: s.journalPos }));
      const actors = await engine.release(slots.map((s) => s.shard));
      await this.#flushed(); // late events are still published by this process; the wait is bounded
      const by = byShard(actors);
      const writes = marks.map((m) => ({ ...m, inputPos, tickSeq, meta, actors: by.get(m.shard) ?? [] }));
      for (let attempt = 1; ; attempt++) {
        try {
          const { fenced } = await store.save(writes, { release: true });
          return { fenced: [...fenced], failed: false };
        } catch (err) {
          this.#d.log?.warn({ err, shards: slots.length, attempt }, 'hand-over checkpoint failed');
          if (attempt >= 3) return { fenced: [], failed: true };
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    });
  }

  /** First checkpoint of shards claimed with none and no journal entries: empty, at the current boundary. Resolves with the fenced ones. */
  claimed(slots: readonly ShardSlot[]): Promise<number[]> {
    return this.#serial(async () => {
      if (slots.length === 0) return [];
      const tickSeq = this.#d.lastSeq();
      const meta = this.#d.meta();
      const writes: ShardCheckpointWrite[] = slots.map((s) => ({
        shard: s.shard,
        epoch: s.epoch,
        version: s.version + 1,
        inputPos: this.#d.engine.position - 1,
        tickSeq,
        journalPos: s.journalPos,
        meta,
        actors: [],
      }));
      const { fenced } = await this.#d.store.save(writes);
      const refused = new Set(fenced);
      for (const s of slots) {
        if (refused.has(s.shard)) continue;
        s.version++;
        s.savedAt = performance.now();
        s.due = false;
      }
      return [...fenced];
    });
  }

  /** Whether the output's events were out within `flushTimeoutMs`. */
  async #flushed(): Promise<boolean> {
    const flush = this.#d.output?.flush?.();
    if (flush === undefined) return true;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), this.#d.flushTimeoutMs ?? 2_000)));
    try {
      return await Promise.race([
        flush.then(
          () => true,
          () => false,
        ),
        late,
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  async #checkpoint(): Promise<void> {
    const { engine, slots, store, metrics } = this.#d;
    const serving = [...slots.all()].filter((s) => s.state === 'serving');
    if (serving.length === 0) return;
    const t = performance.now();
    const full = this.#nextFull;
    this.#nextFull = true; // until this one commits, the next must carry every actor
    const tickSeq = this.#d.lastSeq();
    const marks = serving.map((s) => ({ slot: s, epoch: s.epoch, version: s.version + 1, journalPos: s.journalPos }));
    // The shard workers encode the rows, grouped by virtual shard: the main thread only streams their text.
    const { lastInput, done } = engine.checkpointRows(full, { byShard: true, maxStateBytes: store.maxStateBytes });
    try {
      const encoded = await done;
      // Events up to the checkpoint are out before it can make them unreplayable; else it is not saved.
      if (!(await this.#flushed())) throw new OutputBehindError(this.#d.flushTimeoutMs ?? 2_000);
      const { meta } = encoded;
      const by = encoded.byShard ?? new Map();
      const stale = this.#d.staleMs ?? 60_000;
      const writes: ShardCheckpointWrite[] = [];
      for (const m of marks) {
        const mine = by.get(m.slot.shard);
        if (!(this.#d.everyShard || full || mine !== undefined || m.slot.due || t - m.slot.savedAt > stale)) continue;
        writes.push({
          shard: m.slot.shard,
          epoch: m.epoch,
          version: m.version,
          inputPos: lastInput,
          tickSeq,
          journalPos: m.journalPos,
          meta,
          actors: [],
          ...(mine === undefined ? {} : { rows: mine }),
        });
      }
      const { fenced } = await store.save(writes);
      const refused = new Set(fenced);
      for (const m of marks) {
        if (refused.has(m.slot.shard)) {
          this.#d.onFenced(m.slot.shard, m.epoch);
          continue;
        }
        if (slots.get(m.slot.shard) !== m.slot || m.slot.epoch !== m.epoch || !writes.some((w) => w.shard === m.slot.shard)) continue;
        m.slot.version = m.version;
        m.slot.savedAt = t;
        m.slot.due = false;
      }
      this.#nextFull = false;
      metrics?.checkpointSeconds.observe((performance.now() - t) / 1000);
      metrics?.checkpointActors.inc(encoded.count);
      this.#d.log?.debug(
        { tickSeq, shards: writes.length, actors: encoded.count, full, ms: Math.round(performance.now() - t) },
        'checkpoint saved',
      );
    } catch (err) {
      metrics?.checkpointFailures.inc();
      this.#d.log?.error({ err, tickSeq }, 'checkpoint failed; the next one carries every actor');
      throw err;
    }
  }
}

/** A checkpoint not saved: the output's events were not all out in time. */
export class OutputBehindError extends Error {
  readonly code = 'OUTPUT_BEHIND';
  constructor(ms: number) {
    super(`the output's events were not all out within ${ms} ms: checkpoint not saved`);
    this.name = 'OutputBehindError';
  }
}

function byShard(actors: readonly ActorSnapshot[]): Map<number, ActorSnapshot[]> {
  const by = new Map<number, ActorSnapshot[]>();
  for (const a of actors) {
    const v = shardOf(a.state.id);
    const list = by.get(v);
    if (list === undefined) by.set(v, [a]);
    else list.push(a);
  }
  return by;
}
