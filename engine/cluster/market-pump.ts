/**
 * The live market reader of a cluster node: every market input goes to the
 * engine at its seq (its event coordinate), to a kernel without actors that
 * keeps the shared state (clock, book, tiers) a new shard's first checkpoint
 * needs, and to the catch-ups in progress. A journal batch in flight holds
 * the pump, so its commands are applied at the watermark they carry.
 */
import type { Engine } from '../engine.js';
import type { MarketInputGate } from '../market-input-gate.js';
import type { NodeMetrics } from '../node/node-metrics.js';
import type { MarketInput, MarketLog, MarketReader } from '../node/ports.js';
import type { ShardKernel } from '../shard-kernel.js';
import type { KernelMeta } from './cluster-ports.js';

/** Options of {@link MarketPump}. */
export interface MarketPumpOptions {
  readonly engine: Engine;
  /** A kernel with no actors at the engine's market position. */
  readonly kernel: ShardKernel;
  /** The market check the engine applies, for that kernel. */
  readonly gate: MarketInputGate;
  /** Market seq the engine stands at. */
  readonly tickSeq: number;
  /** Inputs the shards may have pending before the pump waits for them. */
  readonly maxBacklog: number;
  /** Called after each input is applied, at that boundary. */
  readonly onInput: (m: MarketInput) => void;
  /** The market log failed (not on a stop). */
  readonly onFailure: (err: Error) => void;
  readonly metrics?: NodeMetrics | undefined;
}

/** The node's market pump; see the module comment. */
export class MarketPump {
  readonly #o: MarketPumpOptions;
  #lastSeq: number;
  #i = 0;
  /** Holds in effect (a journal batch in flight, a start-up catch-up being registered). */
  readonly #holds = new Set<Promise<void>>();
  #reader: MarketReader | undefined;
  #running: Promise<void> | undefined;
  #stopping = false;

  constructor(o: MarketPumpOptions) {
    this.#o = o;
    this.#lastSeq = o.tickSeq;
  }

  /** Market seq of the last applied input. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Time of the market so far (the last clock, tick or resolution applied); 0 before any. */
  get now(): number {
    return this.#o.kernel.now;
  }

  /** The shared kernel state at the current boundary. */
  meta(): KernelMeta {
    const { actors: _none, ...meta } = this.#o.kernel.snapshot();
    return meta;
  }

  /** Hold the pump until `done` settles (a journal batch in flight); holds add up. */
  hold(done: Promise<void>): void {
    this.#holds.add(done);
    void done.finally(() => this.#holds.delete(done));
  }

  /** Read from the next seq on; resolves once the engine has applied everything up to `tail`. */
  start(market: MarketLog, tail: number): Promise<void> {
    this.#reader = market.open(this.#lastSeq + 1);
    let caughtUp!: () => void;
    const ready = new Promise<void>((r) => (caughtUp = r));
    this.#running = this.#run(this.#reader, tail, caughtUp);
    return ready;
  }

  /** Stop reading; resolves once the loop has ended. */
  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#reader?.stop();
    await this.#running?.catch(() => undefined);
  }

  async #run(reader: MarketReader, tail: number, caughtUp: () => void): Promise<void> {
    const { engine, kernel, gate, metrics } = this.#o;
    let waiting = true;
    const check = (): void => {
      if (!waiting || this.#lastSeq < tail) return;
      waiting = false;
      // Caught up means applied, not only submitted.
      void engine.barrier().then(caughtUp, (err: unknown) => this.#o.onFailure(err instanceof Error ? err : new Error(String(err))));
    };
    check();
    let n = 0;
    // Counted locally and added in bulk: a labelled counter per tick costs more than the tick's routing.
    let ticks = 0;
    const others: string[] = [];
    const flushCounts = (): void => {
      metrics?.marketInputs.inc({ kind: 'tick' }, ticks);
      for (const k of others) metrics?.marketInputs.inc({ kind: k });
      ticks = 0;
      others.length = 0;
      metrics?.lastTickSeq.set(this.#lastSeq);
    };
    const flushTimer = setInterval(flushCounts, 1_000);
    flushTimer.unref();
    try {
      for await (const m of reader) {
        while (this.#holds.size > 0) await Promise.all(this.#holds); // a journal batch in flight: its commands go first
        if (this.#stopping) break;
        engine.submit(m, m.seq);
        const i = this.#i++;
        if (gate.admit(i, m)) kernel.apply({ i, input: m, at: m.seq });
        this.#lastSeq = m.seq;
        this.#o.onInput(m);
        if (m.type === 'tick') ticks++;
        else others.push(m.type);
        if (waiting) check();
        if ((++n & 1023) === 0) {
          flushCounts();
          const pending = engine.shards().reduce((a, s) => Math.max(a, s.pendingInputs), 0);
          if (pending > this.#o.maxBacklog) await engine.barrier();
        }
      }
    } catch (err) {
      if (!this.#stopping) this.#o.onFailure(err instanceof Error ? err : new Error(String(err)));
    } finally {
      clearInterval(flushTimer);
      flushCounts();
    }
  }
}
