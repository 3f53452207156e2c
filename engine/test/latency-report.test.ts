import assert from 'node:assert/strict';
import { test } from 'node:test';
import { presetTiers } from '../../actors/index.js';
import { Engine } from '../engine.js';

const T0 = Date.parse('2026-03-02T08:00:00Z');

test('a latency report splits the queue into the wait behind the shard and counts the events of its largest ack', async () => {
  const engine = await Engine.start({ workers: 1, tiers: presetTiers(), measureLatency: true });
  try {
    engine.submit({ type: 'clock', time: T0 });
    for (let a = 0; a < 20; a++) engine.submit({ type: 'create', assessmentId: `a${a}`, traderId: 't', tierId: 'two-step-100k' });
    for (let s = 1; s <= 200; s++) engine.submit({ type: 'tick', seq: s, ts: T0 + s, symbol: 'BTC-USD', bid: 60_000 + s, ask: 60_010 + s });
    await engine.barrier();
    const [report] = await engine.latency();
    assert.equal(report!.count, 200);
    // Twenty creations acked together or apart: at least one ack carried an assessment.created.
    assert.ok(report!.mostEventsPerAck >= 1, `most events per ack ${report!.mostEventsPerAck}`);
    assert.ok(report!.longestAckMs >= 0 && report!.longestAckMs <= report!.longestTaskMs + 0.01);
    // The wait behind earlier work is a part of the queue, never more than it.
    assert.ok(report!.behindMax <= report!.queuedMax + 1e-6, `behind ${report!.behindMax} > queued ${report!.queuedMax}`);
    const [next] = await engine.latency();
    assert.equal(next!.count, 0);
    assert.equal(next!.mostEventsPerAck, 0);
  } finally {
    await engine.stop();
  }
});
