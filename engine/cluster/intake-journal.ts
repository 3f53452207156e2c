/**
 * Group commit of a cluster node's intake: requests queue, one batch (any
 * mix of shards) is written at a time, each entry fenced by its shard's
 * epoch, while the market pump waits so the batch's commands are applied at
 * the watermark they were written with. The entries of a shard that moved
 * are answered `NOT_OWNER` (the router retries at the new owner) and that
 * shard is dropped; the others are answered as usual.
 *
 * A written batch is applied (submitted to the engine, in journal order) and
 * its gate released at once; its answers wait until the next batch's write
 * has been sent, so the requesters' work on them (and the requests they
 * make) overlaps that write instead of delaying it, and they go out
 * `ANSWER_SLICE` at a time, a turn of the event loop between slices, so a
 * large batch does not hold the loop for all of its answers at once.
 */
import type { Logger } from 'pino';
import type { Engine } from '../engine.js';
import type { EngineInput } from '../inputs.js';
import type { IntakeResult } from '../node/intake.js';
import type { NodeMetrics } from '../node/node-metrics.js';
import { JournalOutcomeUnknownError, type JournalInput } from '../node/ports.js';
import type { ShardJournal, ShardJournalAppend } from './cluster-ports.js';
import type { ShardSlots } from './shard-slots.js';

/** Answers resolved in one event-loop turn. */
const ANSWER_SLICE = 512;

/** A request waiting for the journal. */
export interface PendingIntake {
  readonly input: JournalInput;
  readonly clientOrderId: string | null;
  readonly shard: number;
  readonly epoch: number;
  /** performance.now() when offered. */
  readonly at: number;
  readonly resolve: (r: IntakeResult) => void;
}

/** What the writer needs of its node. */
export interface IntakeJournalDeps {
  readonly journal: ShardJournal;
  readonly slots: ShardSlots;
  readonly engine: Engine;
  /** The market seq applied last: the watermark of the next batch. */
  readonly lastSeq: () => number;
  /** Make the market pump wait until `done` settles. */
  readonly hold: (done: Promise<void>) => void;
  /** A shard's entry was refused: a newer owner holds it. */
  readonly onFenced: (shard: number, epoch: number) => void;
  /** A batch may have been written though no answer came: these shards must be recovered from the journal. */
  readonly onOutcomeUnknown: (shards: ReadonlyMap<number, number>) => void;
  /** @default 2_048 */
  readonly maxBatch?: number | undefined;
  /**
   * The answer to a request whose shard left this node before it was written:
   * `NOT_OWNER` (a cluster node: another node serves it) or `NOT_READY` (a solo
   * node: it serves the shard again once recovered). @default 'NOT_OWNER'
   */
  readonly movedCode?: 'NOT_OWNER' | 'NOT_READY';
  readonly metrics?: NodeMetrics | undefined;
  readonly log?: Logger | undefined;
}

/** The intake queue and its commit loop; see the module comment. */
export class IntakeJournal {
  readonly #d: IntakeJournalDeps;
  #queue: PendingIntake[] = [];
  #committing: Promise<void> | undefined;
  /** Shards with entries in the batch being written. */
  readonly #inflight = new Set<number>();
  #batchDone: Promise<void> = Promise.resolve();
  /** Answers of applied entries not yet given: requests and results at the same index. */
  #answers: PendingIntake[] = [];
  #results: IntakeResult[] = [];
  /** Set while answers are being given slice by slice. */
  #answering: Promise<void> | undefined;

  constructor(deps: IntakeJournalDeps) {
    this.#d = deps;
  }

  /** Queue a request for the next batch. */
  enqueue(p: PendingIntake): void {
    this.#queue.push(p);
    this.#kick();
  }

  /** Answer every queued request of `shard` with `NOT_OWNER` (it is leaving this node). */
  refuseShard(shard: number): void {
    const keep: PendingIntake[] = [];
    for (const p of this.#queue) {
      if (p.shard === shard) this.#notOwner(p);
      else keep.push(p);
    }
    this.#queue = keep;
  }

  /** Resolves once no batch holding an entry of `shard` is being written. */
  async settled(shard: number): Promise<void> {
    while (this.#inflight.has(shard)) await this.#batchDone;
  }

  /** Resolves once the queue is empty, nothing is being written, and every answer is given. */
  async idle(): Promise<void> {
    while (this.#committing !== undefined || this.#answering !== undefined) {
      await this.#committing;
      await this.#answering;
    }
  }

  /** Give the answers held back, `ANSWER_SLICE` per event-loop turn. */
  #answer(): void {
    if (this.#answering !== undefined || this.#answers.length === 0) return;
    this.#answering = (async () => {
      const metrics = this.#d.metrics;
      while (this.#answers.length > 0) {
        const answers = this.#answers;
        const results = this.#results;
        const n = Math.min(ANSWER_SLICE, answers.length);
        const now = performance.now();
        for (let k = 0; k < n; k++) {
          metrics?.ackSeconds.observe((now - answers[k]!.at) / 1000);
          answers[k]!.resolve(results[k]!);
        }
        if (n === answers.length) {
          this.#answers = [];
          this.#results = [];
          break;
        }
        this.#answers = answers.slice(n);
        this.#results = results.slice(n);
        await new Promise((r) => setImmediate(r));
      }
    })().finally(() => {
      this.#answering = undefined;
      this.#answer(); // answers held back while the last slice ran
    });
  }

  #kick(): void {
    if (this.#committing !== undefined) return;
    this.#committing = this.#commit().finally(() => {
      this.#committing = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  #notOwner(p: PendingIntake): void {
    if (p.input.type === 'create') this.#d.slots.get(p.shard)?.known.delete(p.input.assessmentId);
    const code = this.#d.movedCode ?? 'NOT_OWNER';
    this.#d.metrics?.intake.inc({ result: code });
    p.resolve({ ok: false, code, message: `shard ${p.shard} is not served here now; retry` });
  }

  async #commit(): Promise<void> {
    const max = this.#d.maxBatch ?? 2_048;
    const { slots, engine, metrics } = this.#d;
    while (this.#queue.length > 0) {
      const taken = this.#queue.length <= max ? this.#queue : this.#queue.slice(0, max);
      this.#queue = this.#queue.length <= max ? [] : this.#queue.slice(max);
      // A shard may have left since its requests queued.
      const batch: PendingIntake[] = [];
      for (const p of taken) {
        if (slots.serving(p.shard, p.epoch) === undefined) this.#notOwner(p);
        else batch.push(p);
      }
      if (batch.length === 0) continue;
      let release!: () => void;
      const gate = new Promise<void>((r) => (release = r));
      this.#batchDone = gate;
      this.#d.hold(gate);
      for (const p of batch) this.#inflight.add(p.shard);
      const watermark = this.#d.lastSeq();
      const t = performance.now();
      try {
        const entries = new Array<ShardJournalAppend>(batch.length);
        for (let k = 0; k < batch.length; k++) {
          const p = batch[k]!;
          entries[k] = { shard: p.shard, epoch: p.epoch, input: p.input, clientOrderId: p.clientOrderId, tickWatermark: watermark };
        }
        const written = this.#d.journal.appendBatch(entries);
        // The batch before is applied already: its answers go out while this one is written.
        this.#answer();
        const results = await written;
        metrics?.journalWriteSeconds.observe((performance.now() - t) / 1000);
        metrics?.journalBatchSize.observe(batch.length);
        const fenced = new Map<number, number>();
        let accepted = 0;
        let repeats = 0;
        for (let k = 0; k < batch.length; k++) {
          const p = batch[k]!;
          const r = results[k]!;
          if (r.ok) {
            const slot = slots.get(p.shard)!;
            const input = engine.submit(p.input as EngineInput, watermark);
            slot.journalPos = r.position;
            accepted++;
            this.#answers.push(p);
            this.#results.push({ ok: true, position: r.position, input, watermark });
          } else if (r.reason === 'FENCED') {
            fenced.set(p.shard, p.epoch);
            this.#notOwner(p);
          } else if (r.repeat !== undefined && r.position !== undefined) {
            // A resend of an accepted request: answered with that acceptance, applied nothing again.
            repeats++;
            this.#answers.push(p);
            this.#results.push({ ok: true, position: r.position, input: -1, watermark: r.repeat.tickWatermark, repeat: true });
          } else {
            const create = p.input.type === 'create';
            metrics?.intake.inc({ result: create ? 'DUPLICATE_ASSESSMENT' : 'DUPLICATE_CLIENT_ORDER_ID' });
            p.resolve({
              ok: false,
              code: create ? 'DUPLICATE_ASSESSMENT' : 'DUPLICATE_CLIENT_ORDER_ID',
              ...(r.position === undefined ? {} : { position: r.position }),
              message: create
                ? `assessment '${p.input.assessmentId}' already exists`
                : `client order id '${p.clientOrderId}' was already accepted for '${p.input.assessmentId}'`,
            });
          }
        }
        // Counted per batch: a labelled counter per entry costs more than the entry's apply.
        if (accepted > 0) metrics?.intake.inc({ result: 'accepted' }, accepted);
        if (repeats > 0) metrics?.intake.inc({ result: 'repeat' }, repeats);
        for (const [shard, epoch] of fenced) this.#d.onFenced(shard, epoch);
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        const unknown = err instanceof JournalOutcomeUnknownError;
        for (const p of batch) {
          if (p.input.type === 'create') slots.get(p.shard)?.known.delete(p.input.assessmentId);
          p.resolve({
            ok: false,
            code: 'JOURNAL_UNAVAILABLE',
            message: unknown
              ? `outcome unknown, retry with the same client order id: ${e.message}`
              : `not accepted, nothing was applied: the journal write failed (${e.message})`,
          });
        }
        metrics?.intake.inc({ result: 'JOURNAL_UNAVAILABLE' }, batch.length);
        this.#d.log?.error({ err: e, entries: batch.length }, 'journal write failed; the batch was refused');
        // The journal may hold commands this node did not apply: those shards are recovered from it.
        if (unknown) this.#d.onOutcomeUnknown(new Map(batch.map((p) => [p.shard, p.epoch])));
      } finally {
        this.#inflight.clear();
        release();
      }
      // Let the market pump apply what waited behind this batch before the next one closes the gate again.
      if (this.#queue.length > 0) await new Promise((r) => setImmediate(r));
      // No next write to overlap: answer now.
      if (this.#queue.length === 0) this.#answer();
    }
    this.#answer();
  }
}
