/**
 * A cluster node: one engine (its worker threads), one reader of the market
 * log at the live position, and a changing set of virtual shards it serves.
 *
 * Taking a shard: claim it (epoch + 1), load its checkpoint, catch it up in
 * this thread from the checkpoint's market seq and its journal entries after
 * the checkpoint's position to exactly the live position (shard-catch-up.ts),
 * then the engine adopts its actors at that input boundary and intake for it
 * opens. Handing one over: intake for it answers `NOT_OWNER`, its journal
 * batch in flight finishes, its actors leave the engine at an input boundary
 * and it is marked released; its taker catches it up from its last periodic
 * checkpoint and the journal, from memory when recent. A node that stops for
 * good (and a solo node, whose restart reads no one's memory) saves a last
 * checkpoint of each shard instead. A journal write
 * or checkpoint of a shard refused for its epoch drops that shard only.
 *
 * Solo (no node id): every shard is claimed at start, whatever holds it.
 * Cluster: membership leases and allocation rounds (cluster-rounds.ts) decide
 * what to take and hand over.
 */
import { DEFAULT_INSTRUMENTS, type AssessmentState } from '../../actors/index.js';
import { Engine } from '../engine.js';
import { MarketInputGate } from '../market-input-gate.js';
import { MarketRegistry } from '../market-validation.js';
import type { IntakeRefusal, IntakeRequest, IntakeResult, NodeInspection } from '../node/intake.js';
import { FencedError, type MarketLog } from '../node/ports.js';
import { backfillRecent } from './recent-market.js';
import { ShardKernel } from '../shard-kernel.js';
import { shardKey, shardOf } from '../shard.js';
import type { KernelMeta } from './cluster-ports.js';
import type { ClusterNodeOptions } from './cluster-node-options.js';
import { ClusterRounds, type ClusterView } from './cluster-rounds.js';
import { admitIntake } from './intake-admission.js';
import { IntakeJournal } from './intake-journal.js';
import { ShardAcquirer } from './shard-acquirer.js';
import { ShardCheckpointer } from './shard-checkpointer.js';
import { ShardHandover } from './shard-handover.js';
import { ShardSlots, type ShardChangeListener } from './shard-slots.js';
import { MarketPump } from './market-pump.js';

export type { ClusterNodeOptions } from './cluster-node-options.js';

export class ClusterNode {
  /** This node's name; undefined for a solo node. */
  readonly nodeId: string | undefined;
  readonly #o: ClusterNodeOptions;
  readonly #engine: Engine;
  readonly #slots = new ShardSlots();
  readonly #intake: IntakeJournal;
  readonly #checkpointer: ShardCheckpointer;
  readonly #pump: MarketPump;
  readonly #rounds: ClusterRounds;
  readonly #tierIds: Set<string>;
  readonly #acquirer: ShardAcquirer;
  readonly #handover: ShardHandover;
  #timer: NodeJS.Timeout | undefined;
  #stopping = false;
  #fault: Error | undefined;
  #ready!: () => void;
  #registered: () => void = () => undefined;
  /** Resolves once the node has caught up with the market log at start and taken the shards targeted to it (a solo node: all). */
  readonly ready: Promise<void>;

  private constructor(o: ClusterNodeOptions, engine: Engine, marketKernel: ShardKernel, tickSeq: number) {
    this.#o = o;
    this.nodeId = o.nodeId;
    this.#engine = engine;
    this.#tierIds = new Set([...(o.engine?.tiers ?? []), ...marketKernel.snapshot().tiers].map((t) => (t as { id: string }).id));
    this.ready = new Promise((resolve) => (this.#ready = resolve));
    const book = marketKernel.book.snapshot();
    this.#pump = new MarketPump({
      engine,
      kernel: marketKernel,
      gate: new MarketInputGate(new MarketRegistry(book.instruments, book.resolutions)),
      tickSeq,
      maxBacklog: o.maxBacklog ?? 32_768,
      metrics: o.metrics,
      onInput: (m) => this.#acquirer.onMarket(m),
      onFailure: (err) => this.#halt(err, 'market log failed'),
    });
    this.#intake = new IntakeJournal({
      journal: o.journal,
      slots: this.#slots,
      engine,
      lastSeq: () => this.#pump.lastSeq,
      hold: (p) => this.#pump.hold(p),
      onFenced: (shard, epoch) => this.drop(shard, epoch, 'fenced'),
      onOutcomeUnknown: (shards) => {
        for (const [shard, epoch] of shards) this.drop(shard, epoch, 'outcome unknown');
      },
      maxBatch: o.maxJournalBatch,
      movedCode: o.nodeId === undefined ? 'NOT_READY' : 'NOT_OWNER',
      metrics: o.metrics,
      log: o.log,
    });
    this.#checkpointer = new ShardCheckpointer({
      store: o.store,
      engine,
      slots: this.#slots,
      output: o.output,
      lastSeq: () => this.#pump.lastSeq,
      meta: () => this.#pump.meta(),
      everyShard: o.nodeId === undefined,
      staleMs: o.staleCheckpointMs,
      onFenced: (shard, epoch) => this.drop(shard, epoch, 'fenced'),
      metrics: o.metrics,
      log: o.log,
    });
    this.#acquirer = new ShardAcquirer({
      store: o.store,
      journal: o.journal,
      market: o.market,
      engine,
      slots: this.#slots,
      checkpointer: this.#checkpointer,
      output: o.output,
      tiers: o.engine?.tiers ?? [],
      instruments: o.engine?.instruments ?? DEFAULT_INSTRUMENTS,
      nodeId: o.nodeId ?? null,
      lastSeq: () => this.#pump.lastSeq,
      stopping: () => this.#stopping,
      onEngineFailure: (err) => this.#halt(err, 'engine failed'),
      onRegistered: () => this.#registered(),
      metrics: o.clusterMetrics,
      log: o.log,
      ...(o.recentMarketInputs === undefined ? {} : { recentInputs: o.recentMarketInputs }),
    });
    this.#handover = new ShardHandover({
      engine,
      store: o.store,
      slots: this.#slots,
      intake: this.#intake,
      checkpointer: this.#checkpointer,
      metrics: o.clusterMetrics,
      log: o.log,
    });
    this.#rounds = new ClusterRounds(this, this.#slots, o);
    const cm = o.clusterMetrics;
    if (cm !== undefined) {
      this.#slots.onChange(() => {
        cm.shardsOwned.set(this.#slots.served.size);
        if (o.nodeId === undefined) cm.shardsUnowned.set(1024 - this.#slots.served.size);
      });
      if (o.nodeId === undefined) cm.members.set(1);
    }
  }

  /** Start the engine at the newest checkpoint's market position, join the cluster (or claim every shard), and read the market. */
  static async start(o: ClusterNodeOptions): Promise<ClusterNode> {
    if (o.nodeId !== undefined && o.membership === undefined) throw new TypeError('a cluster node (nodeId set) needs a membership store');
    const t0 = performance.now();
    const base = await o.store.newestMeta();
    const engineOptions = { ...o.engine, ...(o.output === undefined ? {} : { output: o.output }) };
    const empty = (meta: KernelMeta) => ({ ...meta, lastInput: -1, actors: [] });
    const engine =
      base === undefined
        ? await Engine.start(engineOptions)
        : await Engine.restore({ lastInput: -1, kernel: empty(base.meta) }, engineOptions);
    const kernel =
      base === undefined
        ? new ShardKernel({ tiers: o.engine?.tiers ?? [], instruments: o.engine?.instruments ?? DEFAULT_INSTRUMENTS })
        : ShardKernel.restore(empty(base.meta));
    const tickSeq = base?.tickSeq ?? 0;
    const node = new ClusterNode(o, engine, kernel, tickSeq);
    try {
      if (o.nodeId === undefined) await node.#rounds.join();
      const tail = o.marketTail === undefined ? tickSeq : await o.marketTail();
      o.log?.info({ node: o.nodeId ?? 'solo', marketSeq: tickSeq, marketTail: tail }, 'cluster node starting');
      // A solo node's shards usually all stand at the engine's start: the pump waits until their
      // catch-up is registered, so it starts there and reads no market history of its own.
      if (o.nodeId === undefined) node.#pump.hold(new Promise((r) => (node.#registered = r)));
      await node.#backfill(o.market, tickSeq, o.recentMarketInputs ?? 50_000);
      const caughtUp = node.#pump.start(o.market, tail);
      if (o.nodeId === undefined) node.#rounds.start();
      else {
        // A member joins once it reads the market at the live position: the others hand it
        // shards only when it can take them at once (a hand-over's pause is not its start-up).
        void caughtUp
          .then(async () => {
            if (node.#stopping) return;
            await node.#rounds.join();
            if (!node.#stopping) node.#rounds.start();
          })
          .catch((err: unknown) => node.#halt(err instanceof Error ? err : new Error(String(err)), 'could not join the cluster'));
      }
      void Promise.all([caughtUp, node.#rounds.settled]).then(() => {
        const seconds = (performance.now() - t0) / 1000;
        o.metrics?.recoverySeconds.set(seconds);
        o.log?.info({ seconds, lastSeq: node.lastSeq, shards: node.servedShards().size }, 'engine node caught up');
        node.#ready();
      });
    } catch (err) {
      await engine.stop();
      throw err;
    }
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
    return this.#pump.lastSeq;
  }

  /** Highest journal position applied over the shards served. */
  get journalPos(): number {
    let max = 0;
    for (const s of this.#slots.all()) if (s.state === 'serving' && s.journalPos > max) max = s.journalPos;
    return max;
  }

  /** The highest owner epoch among the shards served (a solo node's claim of them all). */
  get epoch(): number {
    let max = 0;
    for (const s of this.#slots.all()) if (s.epoch > max) max = s.epoch;
    return max;
  }

  /** Set when the node stopped on its own (market log failed, replaced, or a solo node fenced). */
  get fault(): Error | undefined {
    return this.#fault;
  }

  /** Whether the node is handing over and stopping. */
  get stopping(): boolean {
    return this.#stopping;
  }

  /** Shards served now (a live view). */
  servedShards(): ReadonlySet<number> {
    return this.#slots.served;
  }

  /** The epoch `shard` is served at here, or undefined. */
  epochOf(shard: number): number | undefined {
    return this.#slots.serving(shard)?.epoch;
  }

  /** What the allocation rounds last saw: members, owner rows, moves. */
  clusterView(): ClusterView {
    return this.#rounds.view;
  }

  /** Milliseconds since each served shard's checkpoint was saved (or loaded). */
  checkpointAges(): Map<number, number> {
    const now = performance.now();
    const out = new Map<number, number>();
    for (const s of this.#slots.all()) if (s.state === 'serving') out.set(s.shard, now - s.savedAt);
    return out;
  }

  /** Listen to this node starting (`serving` true) or stopping serving a shard; returns a function that stops listening. */
  onShardChange(listener: ShardChangeListener): () => void {
    return this.#slots.onChange(listener);
  }

  /** Journal and apply a request; resolves after the journal write committed (never rejects). */
  offer(req: IntakeRequest): Promise<IntakeResult> {
    const refuse = (code: IntakeRefusal, message: string): Promise<IntakeResult> => {
      this.#o.metrics?.intake.inc({ result: code });
      return Promise.resolve({ ok: false, code, message });
    };
    if (this.#stopping || this.#fault !== undefined)
      return refuse(
        'STOPPING',
        this.#fault === undefined ? 'the engine node is stopping' : `the engine node stopped: ${this.#fault.message}`,
      );
    if (typeof req.assessmentId !== 'string' || req.assessmentId === '' || req.assessmentId.length > 128)
      return refuse('INVALID_COMMAND', 'assessmentId must be a string of 1..128 characters');
    const shard = shardOf(req.assessmentId);
    const slot = this.#slots.serving(shard);
    if (slot === undefined) {
      // A solo node serves every shard: one it does not serve yet is being recovered.
      return this.nodeId === undefined
        ? refuse('NOT_READY', `shard ${shard} of '${req.assessmentId}' is still recovering; retry shortly`)
        : refuse('NOT_OWNER', `shard ${shard} of '${req.assessmentId}' is not served here now; retry`);
    }
    // The shards could not date it (CLOCK_NOT_SET): acknowledged, it would be journaled and never exist.
    if (req.kind === 'create' && this.#pump.now === 0)
      return refuse(
        'NOT_READY',
        'no market time yet (no clock, tick or resolution applied): a new assessment cannot be dated; retry shortly',
      );
    const admitted = admitIntake(req, slot.known, this.#tierIds);
    if (!admitted.ok) return refuse(admitted.code, admitted.message);
    const { input, clientOrderId } = admitted;
    return new Promise((resolve) =>
      this.#intake.enqueue({ input, clientOrderId, shard, epoch: slot.epoch, at: performance.now(), resolve }),
    );
  }

  /** Take a checkpoint of every served shard now. */
  checkpointNow(): Promise<void> {
    return this.#checkpointer.checkpointNow();
  }

  /**
   * The marks and the state of every served shard at one input boundary. A
   * solo node first waits (bounded) until it serves every shard, so what it
   * shows is the whole state.
   */
  async inspect(): Promise<NodeInspection> {
    if (this.nodeId === undefined) {
      const end = performance.now() + 60_000;
      while ((this.#slots.served.size < 1024 || this.#acquirer.pending > 0) && performance.now() < end && this.#fault === undefined)
        await new Promise((r) => setTimeout(r, 20));
    }
    const tickSeq = this.#pump.lastSeq;
    const journalPos = this.journalPos;
    const snapshot = await this.#engine.snapshot(); // its boundary is this call, after the marks above
    return { tickSeq, journalPos, inputPos: snapshot.lastInput, snapshot };
  }

  /** One assessment's state after every applied input, if its shard is served here. */
  state(assessmentId: string): Promise<AssessmentState | undefined> {
    if (this.#slots.serving(shardOf(assessmentId)) === undefined) return Promise.resolve(undefined);
    return this.#engine.state(assessmentId);
  }

  /**
   * Stop. With `handOver` (the default, SIGTERM): intake answers `STOPPING`,
   * the node leaves the allocation (draining), hands every shard over
   * (checkpoint at an input boundary, released) and leaves the membership.
   * Without: it stops where it is, as a crash would (tests).
   */
  async stop(options: { handOver?: boolean } = {}): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#registered(); // a pump still held for the start-up catch-up must be able to stop
    if (this.#timer !== undefined) clearInterval(this.#timer);
    if ((options.handOver ?? true) && this.#fault === undefined) {
      await this.#rounds.drain();
      await this.#intake.idle();
      // Leaving for good: each shard's last state is saved, so its taker (and any later recovery) starts there.
      await this.releaseShards([...this.#slots.served], Infinity, true);
      await this.#rounds.leave();
    } else {
      this.#acquirer.abandon(); // a catch-up may wait for a pump that no longer runs
      await this.#rounds.stop();
    }
    await this.#pump.stop();
    this.#acquirer.abandon();
    await this.#engine.stop();
  }

  // -- moves (called by the allocation rounds) ------------------------------------------

  /** Claim and take these shards (`epoch`: the owner epoch seen); `force` takes them whatever holds them (solo). @internal */
  acquireShards(wanted: ReadonlyArray<{ readonly shard: number; readonly epoch: number }>, force: boolean): Promise<number[]> {
    return this.#acquirer.acquire(wanted, force);
  }

  /** Hand these served shards over, `chunk` at a time; `checkpoint`: with a final checkpoint of each (a solo node always). @internal */
  releaseShards(shards: readonly number[], chunk = Infinity, checkpoint = false): Promise<number[]> {
    return this.#handover.release(shards, chunk, checkpoint || this.nodeId === undefined);
  }

  /** Stop serving `shard` at once, its state discarded (fenced, or the journal may hold what it did not apply). @internal */
  drop(shard: number, epoch: number, why: 'fenced' | 'outcome unknown' | 'lease lapsed'): void {
    const s = this.#slots.get(shard);
    if (s === undefined || s.epoch !== epoch || (s.state !== 'serving' && s.state !== 'acquiring')) return;
    if (why === 'fenced') this.#o.clusterMetrics?.fenced.inc();
    this.#o.log?.warn({ shard, epoch, why }, 'shard dropped');
    if (why === 'fenced' && this.nodeId === undefined) this.#halt(new FencedError(shardKey(shard), epoch), 'fenced by a newer owner');
    const was = s.state;
    this.#slots.leave(s, 'dropping');
    this.#intake.refuseShard(shard);
    if (was === 'acquiring') return; // its catch-up skips it and forgets it
    this.#engine.release([shard]).then(
      () => this.#slots.remove(s),
      (err: unknown) => this.#halt(err instanceof Error ? err : new Error(String(err)), 'engine failed'),
    );
  }

  // -- internals -------------------------------------------------------------------------

  async #backfill(market: MarketLog, tickSeq: number, capacity: number): Promise<void> {
    if (this.nodeId === undefined) return; // a solo node's shards all start at its own position
    await backfillRecent(this.#acquirer.recent, market, tickSeq, capacity, this.#o.log);
  }

  #halt(err: Error, why: string): void {
    if (this.#fault !== undefined) return;
    this.#fault = err;
    this.#o.log?.fatal({ err }, `engine node halted: ${why}`);
    void this.#pump.stop();
  }

  /** @internal the rounds report a fatal condition (this process was replaced under its name). */
  halt(err: Error, why: string): void {
    this.#halt(err, why);
  }
}
