/**
 * An engine node: one shard group's engine, fed by a market log and a command
 * journal, checkpointed, and recoverable to exactly the state an
 * uninterrupted run reaches.
 *
 * The total order of inputs is the market log's sequence, with each journaled
 * command placed right after the market input it carries as its watermark.
 * While a journal batch is being written, market inputs wait: the batch's
 * commands are applied at the watermark they were written with, so a replay
 * puts them in the same place. A trader's acknowledgement is sent only after
 * the write committed.
 *
 * Recovery: load the newest checkpoint, read the journal after its position,
 * read the market log from its seq + 1, and merge the two by watermark.
 */
import type { Logger } from 'pino';
import { parseCommand, type AssessmentState } from '../../actors/index.js';
import { Engine, type EngineOptions, type EngineOutput, type EngineSnapshot } from '../engine.js';
import type { EngineInput } from '../inputs.js';
import {
  FencedError,
  JournalOutcomeUnknownError,
  type CheckpointMark,
  type CheckpointStore,
  type Journal,
  type JournalInput,
  type JournalRecord,
  type MarketInput,
  type MarketLog,
  type MarketReader,
} from './ports.js';
import type { NodeMetrics } from './node-metrics.js';

/** Options of {@link EngineNode.start}. */
export interface EngineNodeOptions {
  readonly market: MarketLog;
  readonly journal: Journal;
  readonly checkpoints: CheckpointStore;
  /** Engine settings (workers, tiers, instruments, ...). @default Engine defaults */
  readonly engine?: Omit<EngineOptions, 'output'>;
  /** Events and deltas go here. @default none */
  readonly output?: EngineOutput;
  /** Time between checkpoints, ms; 0 checkpoints only on `stop()` and `checkpointNow()`. @default 5_000 */
  readonly checkpointIntervalMs?: number;
  /** Most entries in one journal write. @default 2_048 */
  readonly maxJournalBatch?: number;
  /** Inputs the shards may have pending before the market pump waits for them. @default 32_768 */
  readonly maxBacklog?: number;
  /** Highest market seq at start-up, to tell when recovery has caught up. @default unknown (caught up once the journal backlog is applied) */
  readonly marketTail?: () => Promise<number>;
  /** @default silent */
  readonly log?: Logger;
  readonly metrics?: NodeMetrics;
}

/** Something a trader or the platform asks of an assessment. */
export type IntakeRequest =
  | { readonly kind: 'create'; readonly assessmentId: string; readonly traderId: string; readonly tierId: string }
  | { readonly kind: 'command'; readonly assessmentId: string; readonly command: unknown };

/**
 * Why the node refused a request without journaling it (or found it journaled
 * already). `NOT_OWNER`: the assessment's virtual shard is not served by this
 * node now (it is moving, or lives on another node): nothing was written, and
 * a router retries at the shard's owner.
 */
export type IntakeRefusal =
  | 'MALFORMED_REQUEST'
  | 'INVALID_COMMAND'
  | 'UNKNOWN_ASSESSMENT'
  | 'UNKNOWN_TIER'
  | 'DUPLICATE_ASSESSMENT'
  | 'DUPLICATE_CLIENT_ORDER_ID'
  | 'NOT_READY'
  | 'STOPPING'
  | 'JOURNAL_UNAVAILABLE'
  | 'NOT_OWNER';

/**
 * The answer to a request: durable and applied at `input`, or refused with a
 * code. `repeat`: the request was a resend of one accepted before (same
 * assessment, client order id and command); the answer is that original
 * acceptance, its position and watermark, and `input` is -1 (it was applied
 * then, perhaps by another node).
 */
export type IntakeResult =
  | { readonly ok: true; readonly position: number; readonly input: number; readonly watermark: number; readonly repeat?: true }
  | { readonly ok: false; readonly code: IntakeRefusal; readonly message: string; readonly position?: number };

/** A consistent view for checks: the marks and the whole engine state at one boundary. */
export interface NodeInspection extends CheckpointMark {
  readonly snapshot: EngineSnapshot;
}

interface Pending {
  readonly input: JournalInput;
  readonly clientOrderId: string | null;
  readonly at: number;
  readonly resolve: (r: IntakeResult) => void;
}

const CREATE_KEY = '__create';

export class EngineNode {
  readonly epoch: number;
  readonly #engine: Engine;
  readonly #o: EngineNodeOptions;
  readonly #metrics: NodeMetrics | undefined;
  readonly #log: Logger | undefined;
  readonly #tierIds: Set<string>;
  readonly #known: Set<string>;
  #lastSeq: number;
  #lastJournalPos: number;
  #version: number;
  #backlog: JournalRecord[] = [];
  #backlogAt = 0;
  #queue: Pending[] = [];
  #committing: Promise<void> | undefined;
  #gate: Promise<void> | undefined;
  #reader: MarketReader | undefined;
  #pumping: Promise<void> | undefined;
  #checkpointing: Promise<void> | undefined;
  #nextFull = false;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  #fault: Error | undefined;
  #ready!: () => void;
  /** Resolves when the journal backlog is applied and the market log read up to its tail at start-up. */
  readonly ready: Promise<void>;

  private constructor(
    o: EngineNodeOptions,
    engine: Engine,
    epoch: number,
    mark: CheckpointMark & { version: number },
    known: readonly string[],
    tierIds: readonly string[],
  ) {
    this.#o = o;
    this.#engine = engine;
    this.epoch = epoch;
    this.#metrics = o.metrics;
    this.#log = o.log;
    this.#lastSeq = mark.tickSeq;
    this.#lastJournalPos = mark.journalPos;
    this.#version = mark.version;
    this.#known = new Set(known);
    this.#tierIds = new Set(tierIds);
    this.ready = new Promise((resolve) => (this.#ready = resolve));
  }

  /** Claim the group, recover from the newest checkpoint and the journal, and start reading the market. */
  static async start(o: EngineNodeOptions): Promise<EngineNode> {
    const t0 = performance.now();
    const epoch = await o.checkpoints.claim();
    const cp = await o.checkpoints.load();
    const engineOptions = { ...o.engine, ...(o.output === undefined ? {} : { output: o.output }) };
    const engine = cp === undefined ? await Engine.start(engineOptions) : await Engine.restore(cp.snapshot, engineOptions);
    const mark = cp === undefined ? { inputPos: -1, tickSeq: 0, journalPos: 0, version: 0 } : cp;
    const tiers = [...(o.engine?.tiers ?? []), ...(cp?.snapshot.kernel.tiers ?? [])].map((t) => (t as { id: string }).id);
    const node = new EngineNode(o, engine, epoch, mark, cp?.snapshot.kernel.actors.map((a) => a.state.id) ?? [], tiers);
    for await (const page of o.journal.readAfter(mark.journalPos)) node.#backlog.push(...page);
    node.#metrics?.journalBacklog.set(node.#backlog.length);
    const tail = o.marketTail === undefined ? mark.tickSeq : await o.marketTail();
    o.log?.info(
      {
        epoch,
        checkpoint:
          cp === undefined ? null : { version: cp.version, tickSeq: cp.tickSeq, journalPos: cp.journalPos, actors: cp.actorsLoaded },
        journalBacklog: node.#backlog.length,
        marketTail: tail,
      },
      'engine node recovering',
    );
    node.#applyBacklog(mark.tickSeq);
    node.#reader = o.market.open(mark.tickSeq + 1);
    node.#pumping = node.#pump(node.#reader, tail, t0);
    const every = o.checkpointIntervalMs ?? 5_000;
    if (every > 0) {
      node.#timer = setInterval(() => void node.checkpointNow().catch(() => undefined), every);
      node.#timer.unref();
    }
    return node;
  }

  /** The engine this node drives (reads only: inputs go through the node). */
  get engine(): Engine {
    return this.#engine;
  }

  /** Market seq of the last applied market input. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Journal position of the last applied journal entry. */
  get journalPos(): number {
    return this.#lastJournalPos;
  }

  /** Set when the node stopped on its own (fenced, or its market log failed). */
  get fault(): Error | undefined {
    return this.#fault;
  }

  /**
   * Journal and apply a request. Resolves after the journal write committed
   * (never rejects): `{ ok: true }` means durable and applied in order.
   */
  offer(req: IntakeRequest): Promise<IntakeResult> {
    const refuse = (code: IntakeRefusal, message: string): Promise<IntakeResult> => {
      this.#metrics?.intake.inc({ result: code });
      return Promise.resolve({ ok: false, code, message });
    };
    if (this.#stopping || this.#fault !== undefined)
      return refuse(
        'STOPPING',
        this.#fault === undefined ? 'the engine node is stopping' : `the engine node stopped: ${this.#fault.message}`,
      );
    if (this.#backlogAt < this.#backlog.length) return refuse('NOT_READY', 'the engine node is still recovering; retry shortly');
    if (typeof req.assessmentId !== 'string' || req.assessmentId === '' || req.assessmentId.length > 128)
      return refuse('INVALID_COMMAND', 'assessmentId must be a string of 1..128 characters');
    let input: JournalInput;
    let clientOrderId: string | null;
    if (req.kind === 'create') {
      if (this.#known.has(req.assessmentId)) return refuse('DUPLICATE_ASSESSMENT', `assessment '${req.assessmentId}' already exists`);
      if (!this.#tierIds.has(req.tierId)) return refuse('UNKNOWN_TIER', `no tier '${req.tierId}'`);
      if (typeof req.traderId !== 'string' || req.traderId === '') return refuse('INVALID_COMMAND', 'traderId must be a non-empty string');
      input = { type: 'create', assessmentId: req.assessmentId, traderId: req.traderId, tierId: req.tierId };
      clientOrderId = CREATE_KEY;
      this.#known.add(req.assessmentId); // claimed now so a second create in the same batch is refused
    } else {
      if (!this.#known.has(req.assessmentId)) return refuse('UNKNOWN_ASSESSMENT', `no assessment '${req.assessmentId}' on this engine`);
      let command: ReturnType<typeof parseCommand>;
      try {
        command = parseCommand(req.command);
      } catch (err) {
        return refuse('INVALID_COMMAND', `invalid command: ${describe(err)}`);
      }
      input = { type: 'command', assessmentId: req.assessmentId, command };
      clientOrderId = 'clientOrderId' in command ? command.clientOrderId : null;
    }
    return new Promise((resolve) => {
      this.#queue.push({ input, clientOrderId, at: performance.now(), resolve });
      this.#kick();
    });
  }

  /** Start the commit loop unless it runs; restart it if requests came in as it was ending. */
  #kick(): void {
    if (this.#committing !== undefined) return;
    this.#committing = this.#commit().finally(() => {
      this.#committing = undefined;
      if (this.#queue.length > 0) this.#kick();
    });
  }

  /** Take a checkpoint now (changed actors only, unless the last one failed). */
  checkpointNow(): Promise<void> {
    this.#checkpointing ??= this.#checkpoint().finally(() => (this.#checkpointing = undefined));
    return this.#checkpointing;
  }

  /** The marks and whole state at the current boundary. */
  async inspect(): Promise<NodeInspection> {
    const mark = { tickSeq: this.#lastSeq, journalPos: this.#lastJournalPos };
    const snapshot = await this.#engine.snapshot(); // its boundary is this call, taken before any await above
    return { ...mark, inputPos: snapshot.lastInput, snapshot };
  }

  /** One assessment's state after every applied input. */
  state(assessmentId: string): Promise<AssessmentState | undefined> {
    return this.#engine.state(assessmentId);
  }

  /** Stop reading, finish the journal write in flight, checkpoint, stop the engine. */
  async stop(options: { checkpoint?: boolean } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    await this.#reader?.stop();
    await this.#pumping?.catch(() => undefined);
    while (this.#committing !== undefined) await this.#committing;
    await this.#checkpointing?.catch(() => undefined);
    if ((options.checkpoint ?? true) && this.#fault === undefined) await this.#checkpoint();
    await this.#engine.stop();
  }

  // -- internals -----------------------------------------------------------------------

  async #pump(reader: MarketReader, tail: number, t0: number): Promise<void> {
    const maxBacklog = this.#o.maxBacklog ?? 32_768;
    let caughtUp = false;
    const checkCaughtUp = (): void => {
      if (caughtUp || this.#backlogAt < this.#backlog.length || this.#lastSeq < tail) return;
      caughtUp = true;
      // Ready means applied, not only submitted: wait for the shards to catch up.
      void this.#engine.barrier().then(
        () => {
          const seconds = (performance.now() - t0) / 1000;
          this.#metrics?.recoverySeconds.set(seconds);
          this.#log?.info({ seconds, lastSeq: this.#lastSeq, journalPos: this.#lastJournalPos }, 'engine node caught up');
          this.#ready();
        },
        (err: unknown) => this.#halt(err instanceof Error ? err : new Error(String(err)), 'shards failed during recovery'),
      );
    };
    checkCaughtUp();
    let n = 0;
    // Counted locally and added in bulk: a labelled counter per tick costs more than the tick's routing.
    let ticks = 0;
    const others: string[] = [];
    const flushCounts = (): void => {
      this.#metrics?.marketInputs.inc({ kind: 'tick' }, ticks);
      for (const k of others) this.#metrics?.marketInputs.inc({ kind: k });
      ticks = 0;
      others.length = 0;
      this.#metrics?.lastTickSeq.set(this.#lastSeq);
    };
    const flushTimer = setInterval(flushCounts, 1_000);
    flushTimer.unref();
    try {
      // A reader that delivers batches (JetStream's) costs no promise per message.
      const source: AsyncIterable<readonly MarketInput[]> = reader.batches?.() ?? singles(reader);
      inputs: for await (const batch of source)
        for (const m of batch) {
          while (this.#gate !== undefined) await this.#gate; // a journal batch is in flight: its commands go first
          if (this.#stopping) break inputs;
          if (this.#backlogAt < this.#backlog.length) this.#applyBacklog(m.seq - 1);
          this.#engine.submit(m, m.seq);
          this.#lastSeq = m.seq;
          if (m.type === 'tick') ticks++;
          else others.push(m.type);
          if (this.#backlogAt < this.#backlog.length) this.#applyBacklog(m.seq);
          if (!caughtUp) checkCaughtUp();
          if ((++n & 1023) === 0) {
            flushCounts();
            const pending = this.#engine.shards().reduce((a, s) => Math.max(a, s.pendingInputs), 0);
            if (pending > maxBacklog) await this.#engine.barrier();
          }
        }
    } catch (err) {
      if (!this.#stopping) this.#halt(err instanceof Error ? err : new Error(String(err)), 'market log failed');
    } finally {
      clearInterval(flushTimer);
      flushCounts();
    }
  }

  /** Apply recovered journal entries whose watermark is at most `seq`. */
  #applyBacklog(seq: number): void {
    const b = this.#backlog;
    if (this.#backlogAt >= b.length) return;
    while (this.#backlogAt < b.length && b[this.#backlogAt]!.tickWatermark <= seq) {
      const r = b[this.#backlogAt++]!;
      if (r.input.type === 'create') this.#known.add(r.input.assessmentId);
      this.#engine.submit(r.input as EngineInput, r.tickWatermark);
      this.#lastJournalPos = r.position;
    }
    this.#metrics?.journalBacklog.set(b.length - this.#backlogAt);
    if (this.#backlogAt >= b.length) this.#backlog = [];
  }

  /** Group commit: one batch in flight; requests arriving meanwhile form the next batch. */
  async #commit(): Promise<void> {
    const max = this.#o.maxJournalBatch ?? 2_048;
    while (this.#queue.length > 0) {
      if (this.#fault !== undefined) {
        // halted: nothing more is journaled (the journal may be ahead of this node)
        for (const p of this.#queue.splice(0))
          p.resolve({ ok: false, code: 'STOPPING', message: `the engine node stopped: ${this.#fault.message}` });
        return;
      }
      const batch = this.#queue.length <= max ? this.#queue : this.#queue.slice(0, max);
      this.#queue = this.#queue.length <= max ? [] : this.#queue.slice(max);
      let release!: () => void;
      this.#gate = new Promise((r) => (release = r));
      const watermark = this.#lastSeq;
      const t = performance.now();
      try {
        const results = await this.#o.journal.appendBatch(
          batch.map((p) => ({ input: p.input, clientOrderId: p.clientOrderId, tickWatermark: watermark })),
          this.epoch,
        );
        this.#metrics?.journalWriteSeconds.observe((performance.now() - t) / 1000);
        this.#metrics?.journalBatchSize.observe(batch.length);
        const now = performance.now();
        for (let k = 0; k < batch.length; k++) {
          const p = batch[k]!;
          const r = results[k]!;
          if (r.ok) {
            const input = this.#engine.submit(p.input as EngineInput, watermark);
            this.#lastJournalPos = r.position;
            this.#metrics?.intake.inc({ result: 'accepted' });
            this.#metrics?.ackSeconds.observe((now - p.at) / 1000);
            p.resolve({ ok: true, position: r.position, input, watermark });
          } else {
            const create = p.input.type === 'create';
            this.#metrics?.intake.inc({ result: create ? 'DUPLICATE_ASSESSMENT' : 'DUPLICATE_CLIENT_ORDER_ID' });
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
      } catch (err) {
        const e = err instanceof Error ? err : new Error(String(err));
        for (const p of batch) {
          if (p.input.type === 'create') this.#known.delete(p.input.assessmentId);
          this.#metrics?.intake.inc({ result: 'JOURNAL_UNAVAILABLE' });
          p.resolve({
            ok: false,
            code: 'JOURNAL_UNAVAILABLE',
            message:
              err instanceof JournalOutcomeUnknownError
                ? `outcome unknown, retry with the same client order id: ${e.message}`
                : `not accepted, nothing was applied: the journal write failed (${e.message})`,
          });
        }
        this.#log?.error({ err: e, entries: batch.length }, 'journal write failed; the batch was refused');
        if (err instanceof FencedError) this.#halt(err, 'fenced by a newer owner');
        // The journal may hold commands this node did not apply: going on would diverge from it.
        if (err instanceof JournalOutcomeUnknownError) this.#halt(err, 'journal write outcome unknown');
      } finally {
        this.#gate = undefined;
        release();
      }
      // Let the market pump apply what waited behind this batch before the next one closes the gate again.
      if (this.#queue.length > 0) await new Promise((r) => setImmediate(r));
    }
  }

  async #checkpoint(): Promise<void> {
    if (this.#fault !== undefined) return;
    const t = performance.now();
    const full = this.#nextFull;
    this.#nextFull = true; // until this one commits, the next must carry every actor
    // The shard workers encode the rows: the main thread only streams their text (see checkpoint-rows.ts).
    const { lastInput, done } = this.#engine.checkpointRows(full, { maxStateBytes: this.#o.checkpoints.maxStateBytes });
    const mark = { inputPos: lastInput, tickSeq: this.#lastSeq, journalPos: this.#lastJournalPos };
    try {
      const encoded = await done;
      await this.#o.output?.flush?.(); // events up to the checkpoint are out before it can make them unreplayable
      await this.#o.checkpoints.save({ ...mark, version: this.#version + 1, encoded }, this.epoch);
      this.#version++;
      this.#nextFull = false;
      this.#metrics?.checkpointSeconds.observe((performance.now() - t) / 1000);
      this.#metrics?.checkpointActors.inc(encoded.count);
      this.#log?.debug({ ...mark, actors: encoded.count, full, ms: Math.round(performance.now() - t) }, 'checkpoint saved');
    } catch (err) {
      this.#metrics?.checkpointFailures.inc();
      this.#log?.error({ err, ...mark }, 'checkpoint failed; the next one carries every actor');
      if (err instanceof FencedError) this.#halt(err, 'fenced by a newer owner');
      throw err;
    }
  }

  #halt(err: Error, why: string): void {
    if (this.#fault !== undefined) return;
    this.#fault = err;
    this.#log?.fatal({ err }, `engine node halted: ${why}`);
    void this.#reader?.stop();
  }
}

async function* singles(reader: MarketReader): AsyncGenerator<readonly MarketInput[]> {
  for await (const m of reader) yield [m];
}

function describe(err: unknown): string {
  const issues = (err as { issues?: Array<{ path: PropertyKey[]; message: string }> }).issues;
  if (Array.isArray(issues)) return issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
  return err instanceof Error ? err.message : String(err);
}
