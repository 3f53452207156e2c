import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { presetTiers } from '../../../actors/index.js';
import { PgShardStore } from '../../../persistence/index.js';
import { Engine, type EngineOutput } from '../../engine.js';
import { shardKey, shardOf } from '../../shard.js';
import { createTestDatabase, serviceGate, type TestDatabase } from '../../testing/index.js';
import { ShardCheckpointer } from '../shard-checkpointer.js';
import { ShardSlots } from '../shard-slots.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);

/** An assessment id whose shard is `v` (found by trying names). */
function idIn(v: number, tag: string): string {
  for (let n = 0; ; n++) if (shardOf(`${tag}-${n}`) === v) return `${tag}-${n}`;
}

describe('a cluster checkpoint waits for the output', { skip }, () => {
  let db: TestDatabase;
  let engine: Engine;
  before(async () => {
    db = await createTestDatabase();
    engine = await Engine.start({ workers: 1, tiers: presetTiers(), flushIntervalMs: 0 });
  });
  after(async () => {
    await engine?.stop();
    await db?.drop();
  });

  test('a checkpoint whose events are not out in time is not saved, and the next one carries every actor, changed or not', async () => {
    const store = new PgShardStore(db.sql);
    const v = shardOf('a-0');
    const [changed, untouched] = [idIn(v, 'a'), idIn(v, 'b')];
    const epoch = (await store.claim([v], { node: null, force: true })).get(v)!;
    engine.submit({ type: 'clock', time: Date.parse('2026-03-02T08:00:00Z') });
    engine.submit({ type: 'tick', seq: 1, ts: 0, symbol: 'BTC-USD', bid: 60_000, ask: 60_006 });
    for (const id of [changed, untouched]) engine.submit({ type: 'create', assessmentId: id, traderId: 't', tierId: 'two-step-100k' });
    await engine.barrier();
    const slots = new ShardSlots();
    const slot = slots.begin(v)!;
    slot.epoch = epoch;
    slots.serve(slot);
    // The output's delivery as the checkpointer sees it: out at once, or never (a JetStream that stopped acking).
    let delivered: Promise<void> = Promise.resolve();
    const output: EngineOutput = { onEvents: () => undefined, flush: () => delivered };
    const { actors: _actors, ...meta } = (await engine.snapshot()).kernel;
    const checkpointer = new ShardCheckpointer({
      store,
      engine,
      slots,
      output,
      lastSeq: () => 1,
      meta: () => meta,
      everyShard: false,
      flushTimeoutMs: 200,
      onFenced: (shard) => assert.fail(`shard ${shard} fenced`),
    });
    const rows = async () =>
      new Map(
        (
          await db.sql<{ assessment_id: string; version: string; state: string }[]>`
            select assessment_id, version::text, state from snapshots where group_id = ${shardKey(v)}`
        ).map((r) => [r.assessment_id, r]),
      );
    const checkpointVersion = async () =>
      (await db.sql<{ version: string }[]>`select version::text from checkpoints where group_id = ${shardKey(v)}`)[0]?.version;

    await checkpointer.checkpointNow();
    assert.equal(await checkpointVersion(), '1');
    const first = await rows();
    assert.deepEqual([...first.values()].map((r) => r.version).sort(), ['1', '1']);

    engine.submit({
      type: 'command',
      assessmentId: changed,
      command: { kind: 'place', clientOrderId: 'c1', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1 },
    });
    await engine.barrier();
    delivered = new Promise<void>(() => undefined);
    await assert.rejects(checkpointer.checkpointNow(), { code: 'OUTPUT_BEHIND' });
    assert.equal(await checkpointVersion(), '1', 'the stored checkpoint stays the previous one');
    assert.deepEqual(await rows(), first, 'no actor row was written');
    assert.equal(slot.version, 1);

    delivered = Promise.resolve();
    await checkpointer.checkpointNow();
    assert.equal(await checkpointVersion(), '2');
    const second = await rows();
    assert.equal(second.get(changed)!.version, '2');
    assert.notEqual(second.get(changed)!.state, first.get(changed)!.state, 'the change skipped before is saved now');
    assert.equal(second.get(untouched)!.version, '2', 'an actor unchanged since the last save is written too');
    assert.equal(slot.version, 2);
  });
});
