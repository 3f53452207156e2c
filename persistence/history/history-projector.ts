/**
 * Feeds the history read model from inside the engine's process: an engine
 * output (the embedded defaults have no events stream) that queues the
 * assessment events the events stream would carry, and market ticks for the
 * marks, and writes them in batches, one at a time. `flush()` resolves once
 * everything handed over is written, and the node waits for it before a
 * checkpoint: the events after a checkpoint are emitted again on recovery,
 * and the store takes each event once, so nothing is lost or doubled.
 */
import type { MarkBucket } from './pg-history-store.js';
import type { HistoryEvent } from './history-rows.js';
import { MarkRecorder, type MarkInput } from './mark-recorder.js';

/** Where the projector writes (the Postgres store). */
export interface HistoryWriter {
  ingest(events: readonly HistoryEvent[]): Promise<HistoryEvent[]>;
  recordMarks(marks: readonly MarkBucket[]): Promise<void>;
}

export interface HistoryProjectorOptions {
  readonly store: HistoryWriter;
  /** Which event types the history keeps: those the events stream carries, so the live and rebuilt projections see the same events. */
  readonly accept: (type: string) => boolean;
  /** Told the events a batch added (not those already there): report triggers. @default none */
  readonly onIngested?: (fresh: readonly HistoryEvent[]) => void;
  /** Told of a failed write; a database that is unavailable is retried, anything else is dropped and counted. @default none */
  readonly onError?: (err: unknown, dropped: number) => void;
  /** Events per write. @default 2_000 */
  readonly maxBatch?: number;
  /** Events held while the database is slow or away; beyond it new ones are dropped and counted. @default 1_000_000 */
  readonly maxQueued?: number;
  /** Longest wait between retries, ms. @default 2_000 */
  readonly maxBackoffMs?: number;
  /**
   * How long events wait for more to join their write, ms (a full batch or a
   * flush goes at once): fewer, larger transactions cost the process far
   * less than one per engine batch. @default 250
   */
  readonly lingerMs?: number;
}

type Loose = { readonly type: string; readonly assessmentId?: string; readonly input: number; readonly n: number };

export class HistoryProjector {
  readonly #o: HistoryProjectorOptions;
  readonly #marks: MarkRecorder;
  #queue: HistoryEvent[] = [];
  #draining: Promise<void> | undefined;
  #linger: NodeJS.Timeout | undefined;
  #stopped = false;
  #ingested = 0;
  #dropped = 0;

  constructor(options: HistoryProjectorOptions) {
    this.#o = options;
    this.#marks = new MarkRecorder({ onFull: () => this.#kick() });
  }

  /** Events written (new ones). */
  get ingested(): number {
    return this.#ingested;
  }
  /** Events dropped: the queue was full, or a write failed for good. */
  get dropped(): number {
    return this.#dropped;
  }
  /** Events waiting to be written. */
  get queued(): number {
    return this.#queue.length;
  }

  /** Engine output: keep the assessment events the stream would carry. */
  onEvents(events: readonly Loose[], _shard?: number): void {
    const max = this.#o.maxQueued ?? 1_000_000;
    for (const e of events) {
      if (e.assessmentId === undefined || !this.#o.accept(e.type)) continue;
      if (this.#queue.length >= max) {
        this.#dropped++;
        continue;
      }
      this.#queue.push(e as unknown as HistoryEvent);
    }
    if (this.#queue.length >= (this.#o.maxBatch ?? 2_000)) this.#kick();
    else if (this.#queue.length > 0) this.#later();
  }

  /** A market input as the node reads it: ticks become marks. */
  mark(input: MarkInput): void {
    this.#marks.add(input);
  }

  /** Resolves once every event and mark handed over so far is written (or dropped). */
  async flush(): Promise<void> {
    if (this.#marks.pending > 0 || this.#queue.length > 0) this.#kick();
    while (this.#draining !== undefined) await this.#draining;
  }

  /** Write what is queued, then stop retrying. */
  async close(): Promise<void> {
    await this.flush();
    this.#stopped = true;
    clearTimeout(this.#linger);
  }

  #kick(): void {
    if (this.#stopped) return;
    clearTimeout(this.#linger);
    this.#linger = undefined;
    this.#draining ??= this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  /** Write within `lingerMs`, so what comes meanwhile joins the write. */
  #later(): void {
    if (this.#stopped || this.#linger !== undefined || this.#draining !== undefined) return;
    this.#linger = setTimeout(() => {
      this.#linger = undefined;
      this.#kick();
    }, this.#o.lingerMs ?? 250);
    this.#linger.unref();
  }

  async #drain(): Promise<void> {
    await Promise.resolve(); // the rest of this engine batch joins the write
    let backoff = 50;
    while (!this.#stopped && (this.#queue.length > 0 || this.#marks.pending > 0)) {
      const batch = this.#queue.splice(0, this.#o.maxBatch ?? 2_000);
      const marks = this.#marks.take();
      try {
        if (marks.length > 0) await this.#o.store.recordMarks(marks);
        if (batch.length > 0) {
          const fresh = await this.#o.store.ingest(batch);
          this.#ingested += fresh.length;
          if (fresh.length > 0) {
            try {
              this.#o.onIngested?.(fresh);
            } catch {
              // A failing trigger must not stop the history.
            }
          }
        }
        backoff = 50;
      } catch (err) {
        const unavailable = (err as { code?: string }).code === 'PG_UNAVAILABLE';
        if (unavailable) {
          this.#queue.unshift(...batch);
          this.#marks.restore(marks);
        } else this.#dropped += batch.length;
        try {
          this.#o.onError?.(err, unavailable ? 0 : batch.length);
        } catch {
          // A failing observer must not stop the history.
        }
        if (!unavailable) continue;
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(this.#o.maxBackoffMs ?? 2_000, backoff * 2);
      }
    }
  }
}
