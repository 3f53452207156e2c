/**
 * The engine: shard kernels on worker threads, fed one total order of inputs.
 * Market inputs (ticks, clock, resolutions, tiers, instruments) go to every
 * shard; assessment inputs (create, command) go to the shard that owns the
 * assessment. Each shard sees its subsequence in order, so an actor's events
 * depend only on its own inputs, never on the number of shards.
 */
import type { Worker } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';
import { DEFAULT_INSTRUMENTS, parseTier, type AssessmentState, type Instrument, type Tier } from '../actors/index.js';
import { mergeEncoded, type ActorRowsOptions, type EncodedCheckpoint } from './checkpoint-rows.js';
import type { EncodedDeltas } from './delta-encoding.js';
import { compareOutput, type EngineInput, type OutputEvent, type SequencedInput, type StateDelta } from './inputs.js';
import { MarketInputGate, type RefusedInput } from './market-input-gate.js';
import { MarketRegistry, type MarketInputRefusal } from './market-validation.js';
import type { ActorSnapshot, IndexMode, KernelSnapshot, KernelStats } from './shard-kernel.js';
import { ShardAllotment } from './shard.js';
import { TICK_STRIDE, TickPacker } from './tick-packer.js';
import { spawnWorker } from './spawn-worker.js';
import type { FromShard, LatencyReport, ShardMemory, ShardWorkerData, ToShard } from './worker-protocol.js';

/** Where the engine hands its outputs. The WebSocket gateway and the event bus implement it. */
export interface EngineOutput {
  /** Events of one shard batch, in that shard's order. */
  onEvents(events: readonly OutputEvent[], shard: number): void;
  /** Coalesced live state, once per flush interval per changed or watched assessment. */
  onDeltas?(deltas: readonly StateDelta[], shard: number): void;
  /**
   * The same deltas, msgpack-encoded by the shards (off the main thread);
   * when present, deltas come here instead of to `onDeltas`.
   */
  onEncodedDeltas?(batch: EncodedDeltas, shard: number): void;
  /** Resolves once every event handed over so far is delivered (a checkpoint waits for it). */
  flush?(): Promise<void>;
}

export interface EngineOptions {
  /** Worker threads (shard owners). @default 2 */
  readonly workers?: number;
  /** @default 'indexed' */
  readonly mode?: IndexMode;
  /** @default presets are not implied; pass `presetTiers()` to have them */
  readonly tiers?: readonly Tier[];
  /** @default DEFAULT_INSTRUMENTS */
  readonly instruments?: readonly Instrument[];
  /** @default no output */
  readonly output?: EngineOutput;
  /** State-delta flush interval in ms; 0 turns deltas off. @default 50 */
  readonly flushIntervalMs?: number;
  /**
   * Slices a flush is spread over: each interval, every assessment gets one
   * delta, but a slice of them at a time, evenly spaced, so the output gets
   * no burst of every delta at once. @default one per 10 ms of the interval
   */
  readonly deltaSlices?: number;
  /** Largest input batch sent to a shard. @default 512 */
  readonly maxBatch?: number;
  /** Record tick-to-verdict latency in the shards. @default false */
  readonly measureLatency?: boolean;
  /**
   * How long a shard may hold the ack of a batch that emitted no events, to
   * send one ack for several, ms. A paced feed sends a batch per tick, and an
   * ack per batch is a thread wake-up on each side for nothing; events are
   * still sent at once, and a barrier asks for the acks it waits for.
   * @default 5
   */
  readonly ackDelayMs?: number;
  /** Called for each market input refused (see {@link Engine.submit}); what it throws is swallowed. @default none */
  readonly onRefusedInput?: (refused: RefusedInput) => void;
}

/** The engine's whole state at an input boundary: restore it on any number of workers. */
export interface EngineSnapshot {
  readonly lastInput: number;
  readonly kernel: KernelSnapshot;
}

/** A shard's last reported figures. */
export interface ShardReport {
  readonly shard: number;
  readonly stats: KernelStats | undefined;
  readonly busyMs: number;
  readonly pendingInputs: number;
}

/** Raised when a shard worker dies or reports an internal failure. */
export class ShardFailedError extends Error {
  readonly code = 'SHARD_FAILED';
  readonly shard: number;
  constructor(shard: number, message: string, options?: ErrorOptions) {
    super(`shard ${shard} failed: ${message}`, options);
    this.name = 'ShardFailedError';
    this.shard = shard;
  }
}

interface Shard {
  readonly index: number;
  readonly worker: Worker;
  batch: SequencedInput[];
  sent: number;
  acked: number;
  /** Inputs sent to and applied by this shard (counts, for backlog figures). */
  sentCount: number;
  ackedCount: number;
  stats: KernelStats | undefined;
  busyMs: number;
}

export class Engine {
  readonly allotment: ShardAllotment;
  readonly #shards: Shard[];
  readonly #output: EngineOutput | undefined;
  readonly #maxBatch: number;
  #next = 0;
  #flushQueued = false;
  readonly #ticks = new TickPacker();
  #req = 0;
  readonly #replies = new Map<number, { resolve: (data: unknown) => void; reject: (e: Error) => void }>();
  readonly #waiters: Array<{ resolve: () => void; reject: (e: Error) => void }> = [];
  #failure: Error | undefined;
  /** Refuses invalid market inputs before any shard. */
  readonly #gate: MarketInputGate;

  private constructor(workers: Worker[], options: EngineOptions, firstInput: number, market: MarketRegistry) {
    this.allotment = ShardAllotment.even(workers.length);
    this.#gate = new MarketInputGate(market, options.onRefusedInput);
    this.#output = options.output;
    this.#maxBatch = options.maxBatch ?? 512;
    this.#next = firstInput;
    this.#shards = workers.map((worker, index) => ({
      index,
      worker,
      batch: [],
      sent: firstInput - 1,
      acked: firstInput - 1,
      sentCount: 0,
      ackedCount: 0,
      stats: undefined,
      busyMs: 0,
    }));
    for (const shard of this.#shards) {
      shard.worker.on('message', (msg: FromShard) => this.#onMessage(shard, msg));
      shard.worker.on('error', (err) => this.#fail(new ShardFailedError(shard.index, err.message, { cause: err })));
      shard.worker.on('exit', (code) => {
        if (code !== 0 && this.#failure === undefined) this.#fail(new ShardFailedError(shard.index, `worker exited with code ${code}`));
      });
    }
  }

  /** Start an engine with empty shards. */
  static async start(options: EngineOptions = {}): Promise<Engine> {
    return Engine.#boot(options, undefined);
  }

  /** Start an engine from a snapshot, on any number of workers. */
  static async restore(snapshot: EngineSnapshot, options: EngineOptions = {}): Promise<Engine> {
    return Engine.#boot(options, snapshot);
  }

  static async #boot(options: EngineOptions, snapshot: EngineSnapshot | undefined): Promise<Engine> {
    const n = options.workers ?? 2;
    const allotment = ShardAllotment.even(n);
    const tiers = (options.tiers ?? []).map((t) => parseTier(t));
    const instruments = options.instruments ?? DEFAULT_INSTRUMENTS;
    const deltaSlices = options.deltaSlices ?? Math.max(1, Math.round((options.flushIntervalMs ?? 50) / 10));
    const workers = Array.from({ length: n }, (_, shard) => {
      let part: KernelSnapshot | undefined;
      if (snapshot !== undefined) {
        const k = snapshot.kernel;
        part = { ...k, actors: k.actors.filter((a) => allotment.ownerOf(a.state.id) === shard) };
      }
      const data: ShardWorkerData = {
        shard,
        mode: options.mode ?? 'indexed',
        tiers,
        instruments,
        snapshot: part,
        flushIntervalMs: options.flushIntervalMs ?? 50,
        measureLatency: options.measureLatency ?? false,
        deltaSlices,
        deltaPhaseMs: ((options.flushIntervalMs ?? 50) / deltaSlices) * (shard / n),
        encodeDeltas: options.output?.onEncodedDeltas !== undefined,
        ackDelayMs: options.ackDelayMs ?? 5,
      };
      const entry = new URL(import.meta.url.endsWith('.ts') ? './shard-worker.ts' : './shard-worker.js', import.meta.url);
      return spawnWorker(entry, { workerData: data as unknown as Record<string, unknown> });
    });
    const market =
      snapshot === undefined
        ? new MarketRegistry(instruments)
        : new MarketRegistry(snapshot.kernel.book.instruments, snapshot.kernel.book.resolutions);
    return new Engine(workers, options, snapshot === undefined ? 0 : snapshot.lastInput + 1, market);
  }

  /** Number of inputs submitted so far (the next input's position). */
  get position(): number {
    return this.#next;
  }

  /**
   * Submit one input; returns its position in the total order. A tier that
   * does not validate throws `InvalidTierError` and takes no position.
   * An invalid market input (`MarketInputGate`: a tick of an unknown symbol or
   * an invalid quote, a resolution of an unknown market or outcome or a second
   * one, a clock time that is not an integer) takes its position but reaches
   * no shard; it is counted ({@link refused}) and reported to `onRefusedInput`.
   *
   * @param at the input's event coordinate, which every event it causes
   *   carries as `input` (see `SequencedInput.at`). @default its position
   */
  submit(input: EngineInput, at?: number): number {
    if (this.#failure !== undefined) throw this.#failure;
    if (input.type === 'tier') parseTier(input.tier);
    const i = this.#next++;
    if (!this.#gate.admit(i, input)) return i;
    if (input.type === 'tick') {
      this.#ticks.push(i, input, at ?? i);
      this.#queued(this.#ticks.count);
      return i;
    }
    const si: SequencedInput = at === undefined ? { i, input } : { i, input, at };
    if (input.type === 'create' || input.type === 'command') {
      this.#enqueue(this.#shards[this.allotment.ownerOf(input.assessmentId)]!, si);
    } else {
      for (const shard of this.#shards) this.#enqueue(shard, si);
    }
    return si.i;
  }

  /**
   * Add actors caught up elsewhere to this engine's current market position
   * (a virtual shard moving in), after every input submitted before the call.
   */
  adopt(actors: readonly ActorSnapshot[]): void {
    if (this.#failure !== undefined) throw this.#failure;
    this.#flush(); // after everything submitted so far, in each worker's queue order
    const byShard = new Map<number, ActorSnapshot[]>();
    for (const a of actors) {
      const owner = this.allotment.ownerOf(a.state.id);
      // Appended in place: a copy per actor made adopting 100k actors quadratic (33 s of a solo restart).
      const list = byShard.get(owner);
      if (list === undefined) byShard.set(owner, [a]);
      else list.push(a);
    }
    for (const [owner, list] of byShard) this.#post(this.#shards[owner]!, { t: 'adopt', actors: list });
  }

  /**
   * Remove every actor of these virtual shards (a shard moving out) at the
   * current input boundary: after every input submitted before the call and
   * none after. Resolves to their whole snapshots, sorted by id.
   */
  async release(vshards: readonly number[]): Promise<ActorSnapshot[]> {
    this.#flush();
    const parts = (await Promise.all(
      this.#shards.map((s) => this.#request(s, { what: 'release', shards: [...vshards] })),
    )) as ActorSnapshot[][];
    return parts.flat().sort((a, b) => (a.state.id < b.state.id ? -1 : a.state.id > b.state.id ? 1 : 0));
  }

  /** Market inputs refused so far, by reason (see {@link submit}). */
  get refused(): ReadonlyMap<MarketInputRefusal, number> {
    return this.#gate.refused;
  }

  /** Resolves once every shard has applied every input submitted before the call. */
  async barrier(): Promise<void> {
    this.#flush();
    if (this.#failure !== undefined) throw this.#failure;
    if (this.#caughtUp()) return;
    // Shards may be holding acks back (ackDelayMs): ask for them rather than wait out the delay.
    for (const s of this.#shards) if (s.acked < s.sent) this.#post(s, { t: 'sync' });
    await new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Push live state for these assessments every flush interval. */
  watch(ids: readonly string[], on = true): void {
    const byShard = new Map<number, string[]>();
    for (const id of ids) {
      const owner = this.allotment.ownerOf(id);
      const list = byShard.get(owner);
      if (list === undefined) byShard.set(owner, [id]);
      else list.push(id);
    }
    for (const [owner, list] of byShard) this.#post(this.#shards[owner]!, { t: 'watch', ids: list, on });
  }

  /** The state of one assessment after every input submitted so far. */
  async state(assessmentId: string): Promise<AssessmentState | undefined> {
    // No barrier: under a continuous market one would never settle. Everything submitted
    // goes out first, and the owner answers in its input order, so the reply reflects it all.
    this.#flush();
    const owner = this.#shards[this.allotment.ownerOf(assessmentId)]!;
    return (await this.#request(owner, { what: 'state', assessmentId })) as AssessmentState | undefined;
  }

  /** Ids of every assessment, sorted. */
  async assessmentIds(): Promise<string[]> {
    this.#flush();
    const parts = await Promise.all(this.#shards.map((s) => this.#request(s, { what: 'ids' }) as Promise<string[]>));
    return parts.flat().sort();
  }

  /**
   * A consistent snapshot at the current input boundary: every input
   * submitted before the call and none after, even if more are submitted
   * while it is taken (each shard answers in its input order).
   */
  async snapshot(): Promise<EngineSnapshot> {
    const { lastInput, parts } = this.#capture({ what: 'snapshot' });
    const kernels = await parts;
    return { lastInput, kernel: merge(kernels, lastInput) };
  }

  /**
   * Like {@link snapshot}, but carrying only the actors stepped since the
   * previous checkpoint (all of them when `full`). Applied over the actors of
   * the previous checkpoint it gives the engine's state at `lastInput`.
   * Synchronous up to the returned promise: the boundary is the call itself.
   */
  checkpoint(full: boolean): { readonly lastInput: number; readonly done: Promise<EngineSnapshot> } {
    const { lastInput, parts } = this.#capture({ what: 'checkpoint', full });
    return { lastInput, done: parts.then((kernels) => ({ lastInput, kernel: merge(kernels, lastInput) })) };
  }

  /**
   * Like {@link checkpoint}, but each shard worker encodes its actors as COPY
   * rows (see checkpoint-rows.ts): the main thread receives a few strings per
   * shard, never the states. Synchronous up to the returned promise.
   */
  checkpointRows(full: boolean, rows: ActorRowsOptions = {}): { readonly lastInput: number; readonly done: Promise<EncodedCheckpoint> } {
    const { lastInput, parts } = this.#capture<EncodedCheckpoint>({ what: 'checkpoint-rows', full, rows });
    return { lastInput, done: parts.then((encoded) => mergeEncoded(encoded, lastInput)) };
  }

  #capture<T = KernelSnapshot>(
    body: { what: 'snapshot' } | { what: 'checkpoint'; full: boolean } | { what: 'checkpoint-rows'; full: boolean; rows: ActorRowsOptions },
  ): { lastInput: number; parts: Promise<T[]> } {
    this.#flush(); // everything submitted goes out before the request, in each worker's queue order
    const lastInput = this.#next - 1;
    const parts = Promise.all(this.#shards.map((s) => this.#request(s, body))) as Promise<T[]>;
    return { lastInput, parts };
  }

  /** Tick-to-verdict latency per shard since the last call. */
  async latency(): Promise<LatencyReport[]> {
    return (await Promise.all(this.#shards.map((s) => this.#request(s, { what: 'latency' })))) as LatencyReport[];
  }

  /** Heap use of each shard's isolate. */
  async memory(): Promise<ShardMemory[]> {
    return (await Promise.all(this.#shards.map((s) => this.#request(s, { what: 'memory' })))) as ShardMemory[];
  }

  /** Last figures reported by each shard. */
  shards(): ShardReport[] {
    return this.#shards.map((s) => ({
      shard: s.index,
      stats: s.stats,
      busyMs: s.busyMs,
      pendingInputs: s.sentCount - s.ackedCount + s.batch.length + this.#ticks.count,
    }));
  }

  /** Stop every worker. Inputs not yet applied are dropped. */
  async stop(): Promise<void> {
    this.#failure ??= new Error('engine stopped');
    await Promise.all(this.#shards.map((s) => s.worker.terminate()));
  }

  // -- internals -----------------------------------------------------------------------

  #enqueue(shard: Shard, si: SequencedInput): void {
    shard.batch.push(si);
    this.#queued(shard.batch.length);
  }

  #queued(length: number): void {
    if (length >= this.#maxBatch) this.#flush();
    else if (!this.#flushQueued) {
      this.#flushQueued = true;
      // Once per event-loop turn, not per microtask: a source yielding one input per
      // microtask would otherwise cost a postMessage per input per shard.
      setImmediate(() => this.#flush());
    }
  }

  /** Send everything queued. Ticks go to every shard with each shard's other inputs, so no shard sees them out of order. */
  #flush(): void {
    this.#flushQueued = false;
    const packed = this.#ticks.take();
    const sentAt = performance.timeOrigin + performance.now();
    const lastTick = packed === undefined ? -1 : packed.ticks[packed.ticks.length - TICK_STRIDE]!;
    for (const shard of this.#shards) {
      if (packed === undefined && shard.batch.length === 0) continue;
      const batch = shard.batch;
      shard.batch = [];
      shard.sent = Math.max(lastTick, batch[batch.length - 1]?.i ?? -1);
      shard.sentCount += batch.length + (packed === undefined ? 0 : packed.ticks.length / TICK_STRIDE);
      this.#post(shard, { t: 'inputs', batch, ticks: packed?.ticks, newSymbols: packed?.newSymbols ?? [], sentAt });
    }
  }

  #post(shard: Shard, msg: ToShard): void {
    shard.worker.postMessage(msg);
  }

  #request(
    shard: Shard,
    body:
      | { what: 'snapshot' | 'latency' | 'ids' | 'memory' }
      | { what: 'state'; assessmentId: string }
      | { what: 'checkpoint'; full: boolean }
      | { what: 'checkpoint-rows'; full: boolean; rows: ActorRowsOptions }
      | { what: 'release'; shards: number[] },
  ): Promise<unknown> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const req = ++this.#req;
    return new Promise((resolve, reject) => {
      this.#replies.set(req, { resolve, reject });
      this.#post(shard, { t: 'request', req, ...body } as ToShard);
    });
  }

  #onMessage(shard: Shard, msg: FromShard): void {
    switch (msg.t) {
      case 'ack':
        shard.acked = msg.upTo;
        shard.ackedCount += msg.count;
        shard.stats = msg.stats;
        shard.busyMs = msg.busyMs;
        if (msg.events.length > 0) this.#output?.onEvents(msg.events, shard.index);
        this.#release();
        break;
      case 'deltas':
        this.#output?.onDeltas?.(msg.deltas, shard.index);
        break;
      case 'encoded-deltas':
        this.#output?.onEncodedDeltas?.(msg.batch, shard.index);
        break;
      case 'reply': {
        const pending = this.#replies.get(msg.req);
        this.#replies.delete(msg.req);
        pending?.resolve(msg.data);
        break;
      }
      case 'fatal':
        this.#fail(new ShardFailedError(shard.index, msg.error));
        break;
    }
  }

  /** Every shard has acked everything it was sent and holds nothing unsent. */
  #caughtUp(): boolean {
    return this.#ticks.count === 0 && this.#shards.every((s) => s.batch.length === 0 && s.acked >= s.sent);
  }

  #release(): void {
    if (this.#waiters.length === 0 || !this.#caughtUp()) return;
    for (const w of this.#waiters.splice(0)) w.resolve();
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const w of this.#waiters.splice(0)) w.reject(err);
    for (const r of this.#replies.values()) r.reject(err);
    this.#replies.clear();
  }
}

/** One kernel snapshot from the shards' parts: actors sorted by id, the shared parts from any shard. */
function merge(parts: readonly KernelSnapshot[], lastInput: number): KernelSnapshot {
  const actors = parts.flatMap((p) => p.actors).sort((a, b) => (a.state.id < b.state.id ? -1 : a.state.id > b.state.id ? 1 : 0));
  // Every shard sees every tick, so the newest market position is the engine's.
  const lastTickSeq = Math.max(...parts.map((p) => p.lastTickSeq));
  return { ...parts[0]!, lastTickSeq, lastInput, actors };
}

/**
 * Run inputs through an engine and collect every event in the total output
 * order. Inputs given as `{ input, at }` carry their event coordinate (as an
 * engine node's merged logs do, see `mergeSequenced`).
 */
export async function runInputs(
  inputs: readonly (EngineInput | { readonly input: EngineInput; readonly at: number })[],
  options: Omit<EngineOptions, 'output'> = {},
): Promise<{ events: OutputEvent[]; engine: Engine }> {
  const events: OutputEvent[] = [];
  const engine = await Engine.start({
    flushIntervalMs: 0,
    ...options,
    output: {
      onEvents: (e) => {
        for (const x of e) events.push(x);
      },
    },
  });
  for (const x of inputs) {
    if ('at' in x && 'input' in x) engine.submit(x.input, x.at);
    else engine.submit(x);
  }
  await engine.barrier();
  events.sort(compareOutput);
  return { events, engine };
}
