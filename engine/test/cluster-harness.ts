/**
 * Cluster nodes for tests, on a real Postgres database and an in-process
 * market bus: start and stop nodes, route an offer to whichever node serves
 * the assessment's shard, and check states and events against a from-scratch
 * replay of the market log and the whole journal.
 */
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { presetTiers } from '../../actors/index.js';
import { PgMembership, PgShardJournal, PgShardStore } from '../../persistence/index.js';
import { MemoryMarketLog } from '../../transport/memory/index.js';
import {
  ClusterNode,
  mergeSequenced,
  runInputs,
  shardOf,
  stateDigest,
  type ClusterNodeOptions,
  type IntakeRequest,
  type IntakeResult,
  type JournalRecord,
  type MarketInput,
  type OutputEvent,
} from '../index.js';
import type { TestDatabase } from '../testing/pg-test-db.js';
import { until } from '../testing/until.js';

export const T0 = Date.UTC(2026, 0, 5, 9, 0);
export const tiers = presetTiers();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An assessment id whose virtual shard is `v`. */
export function idInShard(v: number, tag = 'a'): string {
  for (let n = 0; ; n++) if (shardOf(`${tag}-${n}`) === v) return `${tag}-${n}`;
}

/** Events keyed by their canonical id (`assessment:input:n`); a second copy must be identical. */
export class EventLog {
  readonly byId = new Map<string, string>();
  conflicts = 0;
  add(events: readonly OutputEvent[]): void {
    for (const e of events) {
      const id = `${e.assessmentId}:${e.input}:${e.n}`;
      const text = JSON.stringify(e);
      const held = this.byId.get(id);
      if (held !== undefined && held !== text) this.conflicts++;
      this.byId.set(id, text);
    }
  }
}

/** Nodes of one test cluster. */
export class ClusterHarness {
  readonly market = new MemoryMarketLog();
  readonly events = new EventLog();
  readonly db: TestDatabase;
  readonly nodes = new Map<string, ClusterNode>();
  readonly #now = { t: T0 };
  #price = 50_000;

  constructor(db: TestDatabase) {
    this.db = db;
  }

  /** Start a node (`name` undefined: solo). */
  async start(name: string | undefined, extra: Partial<ClusterNodeOptions> = {}): Promise<ClusterNode> {
    const node = await ClusterNode.start({
      market: this.market,
      journal: new PgShardJournal(this.db.sql),
      store: new PgShardStore(this.db.sql),
      membership: new PgMembership(this.db.sql),
      ...(name === undefined ? {} : { nodeId: name }),
      leaseTtlMs: 2_000,
      roundMs: 100,
      marketTail: () => this.market.tail(),
      engine: { workers: 2, tiers, flushIntervalMs: 0 },
      checkpointIntervalMs: 0,
      output: { onEvents: (e) => this.events.add(e) },
      log: pino({ level: process.env['TEST_LOG'] ?? 'silent' }).child({ node: name ?? 'solo' }),
      ...extra,
    });
    this.nodes.set(name ?? 'solo', node);
    return node;
  }

  /** Publish `n` BTC ticks a second apart (a clock beat every tenth). */
  ticks(n: number): void {
    for (let k = 0; k < n; k++) {
      this.#now.t += 1_000;
      this.#price *= 1 + Math.sin(this.#now.t / 7_000) * 0.002;
      this.market.publish({ type: 'tick', symbol: 'BTC-USD', ts: this.#now.t, bid: this.#price - 1, ask: this.#price + 1 });
      if (k % 10 === 0) this.market.publish({ type: 'clock', time: this.#now.t });
    }
  }

  /** A market order with a stop 3% away. */
  place(id: string, side: 'buy' | 'sell', qty = 0.2): object {
    return {
      kind: 'place',
      clientOrderId: id,
      symbol: 'BTC-USD',
      side,
      type: 'market',
      qty,
      stopLoss: Math.round(side === 'buy' ? this.#price * 0.97 : this.#price * 1.03),
    };
  }

  /** Offer to the nodes in turn until one serves the shard (retrying NOT_OWNER while a shard moves). */
  async offer(req: IntakeRequest, timeoutMs = 30_000): Promise<IntakeResult> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      for (const node of this.nodes.values()) {
        if (node.stopping) continue;
        const r = await node.offer(req);
        if (r.ok || (r.code !== 'NOT_OWNER' && r.code !== 'NOT_READY' && r.code !== 'STOPPING')) return r;
      }
      if (Date.now() > end) throw new Error(`no node took ${JSON.stringify(req)}`);
      await sleep(20);
    }
  }

  /** Every running node has applied the whole market log. */
  async caughtUp(): Promise<void> {
    await until(() => [...this.nodes.values()].every((n) => n.stopping || n.lastSeq >= this.market.lastSeq), {
      what: 'the nodes to apply the market log',
      deadlineMs: 30_000,
    });
  }

  async stopAll(): Promise<void> {
    for (const n of this.nodes.values()) await n.stop({ handOver: false }).catch(() => undefined);
    this.nodes.clear();
  }

  /** The whole journal, every shard. */
  async journal(): Promise<JournalRecord[]> {
    const out: JournalRecord[] = [];
    for await (const page of new PgShardJournal(this.db.sql).readAll()) out.push(...page);
    return out;
  }

  /**
   * The nodes' states (each shard from the node serving it) and every event
   * they emitted equal one uninterrupted process's on the same inputs.
   * Returns the number of assessments checked.
   */
  async assertEqualsReplay(): Promise<number> {
    await this.caughtUp();
    const running = [...this.nodes.values()].filter((n) => !n.stopping);
    const tickSeq = this.market.lastSeq;
    const seen = new Map<string, string>();
    for (const n of running) {
      const s = await n.inspect();
      assert.equal(s.tickSeq, tickSeq);
      for (const a of s.snapshot.kernel.actors) {
        assert.ok(!seen.has(a.state.id), `${a.state.id} is served by one node only`);
        seen.set(a.state.id, stateDigest(a.state));
      }
    }
    const market: MarketInput[] = [];
    const reader = this.market.open(1);
    for await (const m of reader) {
      market.push(m);
      if (m.seq >= tickSeq) break;
    }
    const { engine, events } = await runInputs(mergeSequenced(market, await this.journal()), { workers: 1, tiers });
    try {
      const replayed = await engine.snapshot();
      const want = new Map(replayed.kernel.actors.map((a) => [a.state.id, stateDigest(a.state)]));
      assert.deepEqual(new Map([...seen].sort()), new Map([...want].sort()), "every state equals the replay's");
      const replayLog = new EventLog();
      replayLog.add(events);
      assert.equal(this.events.conflicts, 0, 'an event published twice is the same event');
      assert.deepEqual([...this.events.byId.keys()].sort(), [...replayLog.byId.keys()].sort(), 'the same events, by id');
      for (const [id, text] of replayLog.byId) assert.equal(this.events.byId.get(id), text, `event ${id}`);
      return want.size;
    } finally {
      await engine.stop();
    }
  }
}

/** A request to create `id`. */
export const createReq = (id: string): IntakeRequest => ({ kind: 'create', assessmentId: id, traderId: `t-${id}`, tierId: 'one-step-50k' });
