import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidTierError, presetTiers } from '../../actors/index.js';
import { Engine, runInputs } from '../engine.js';
import { ShardKernel } from '../shard-kernel.js';
import type { EngineInput } from '../inputs.js';
import { parseTape, TapeError } from '../tape.js';
import { until } from '../testing/until.js';

const T0 = Date.parse('2026-03-02T08:00:00Z');

test('a create before any clock input is refused instead of dating the account 1970', async () => {
  const { events, engine } = await runInputs(
    [
      { type: 'create', assessmentId: 'early', traderId: 't', tierId: 'two-step-100k' },
      { type: 'clock', time: T0 },
      { type: 'create', assessmentId: 'on-time', traderId: 't', tierId: 'two-step-100k' },
    ],
    { workers: 2, tiers: presetTiers() },
  );
  await engine.stop();
  const rejected = events.find((e) => e.type === 'engine.input-rejected');
  assert.equal(rejected?.type === 'engine.input-rejected' && rejected.reason, 'CLOCK_NOT_SET');
  assert.equal(rejected?.assessmentId, 'early');
  assert.ok(events.some((e) => e.type === 'assessment.created' && e.assessmentId === 'on-time' && e.at === T0));
});

test('commands for an unknown assessment or tier are refused with a reason, once, whatever the shard count', async () => {
  const inputs: EngineInput[] = [
    { type: 'clock', time: T0 },
    { type: 'create', assessmentId: 'x', traderId: 't', tierId: 'no-such-tier' },
    { type: 'command', assessmentId: 'ghost', command: { kind: 'flatten' } },
  ];
  for (const workers of [1, 3]) {
    const { events, engine } = await runInputs(inputs, { workers, tiers: presetTiers() });
    await engine.stop();
    assert.deepEqual(
      events.map((e) => e.type === 'engine.input-rejected' && [e.assessmentId, e.reason]),
      [
        ['x', 'UNKNOWN_TIER'],
        ['ghost', 'UNKNOWN_ASSESSMENT'],
      ],
    );
  }
});

test('a stopped engine refuses inputs and its requests reject instead of hanging', async () => {
  const engine = await Engine.start({ workers: 1 });
  await engine.stop();
  assert.throws(() => engine.submit({ type: 'clock', time: T0 }), /engine stopped/);
  await assert.rejects(engine.snapshot(), /engine stopped/);
  await assert.rejects(engine.latency(), /engine stopped/);
});

test('a tick redelivered with an old sequence changes nothing', async () => {
  const { events, engine } = await runInputs(
    [
      { type: 'clock', time: T0 },
      { type: 'create', assessmentId: 'a', traderId: 't', tierId: 'two-step-100k' },
      { type: 'tick', seq: 5, ts: T0, symbol: 'BTC-USD', bid: 60_000, ask: 60_010 },
      {
        type: 'command',
        assessmentId: 'a',
        command: { kind: 'place', clientOrderId: 'l', symbol: 'BTC-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 59_000 },
      },
      { type: 'tick', seq: 4, ts: T0, symbol: 'BTC-USD', bid: 58_000, ask: 58_010 }, // stale: would fill the limit
      { type: 'tick', seq: 5, ts: T0, symbol: 'BTC-USD', bid: 58_000, ask: 58_010 }, // duplicate
    ],
    { workers: 2, tiers: presetTiers() },
  );
  const shards = engine.shards();
  await engine.stop();
  assert.equal(events.filter((e) => e.type === 'order.filled').length, 0);
  assert.equal(
    shards.reduce((s, x) => s + (x.stats?.staleTicks ?? 0), 0),
    4,
  ); // two stale ticks on each of two shards
});

test('a malformed tape line is refused with its line number and what is wrong', () => {
  assert.throws(
    () => parseTape('{"type":"clock","time":1}\n{"type":"tick","seq":1}\n'),
    (err: unknown) => err instanceof TapeError && err.line === 2 && /symbol/.test(err.message),
  );
  assert.throws(() => parseTape('not json\n'), /tape line 1: not JSON/);
  assert.throws(() => parseTape('{"type":"tick","seq":1,"ts":1,"symbol":"BTC-USD","bid":2,"ask":1}\n'), /tape line 1: CROSSED_QUOTE/);
  assert.throws(
    () => parseTape('{"type":"tier","tier":{"id":"t","version":1,"name":"t","timezone":"Mars/Base","phases":[]}}\n'),
    /unknown time zone 'Mars\/Base'/,
  );
});

test('an invalid tier is refused at submit, consuming no input position, and the engine keeps running', async () => {
  const engine = await Engine.start({ workers: 2 });
  try {
    assert.throws(() => engine.submit({ type: 'tier', tier: { id: 'bad', version: 1, name: 'bad', phases: [] } }), InvalidTierError);
    assert.equal(engine.position, 0);
    engine.submit({ type: 'clock', time: T0 });
    await engine.barrier();
    assert.equal(engine.position, 1);
  } finally {
    await engine.stop();
  }
});

test('state() answers while ticks keep flowing, and reflects every input submitted before it', async () => {
  const engine = await Engine.start({ workers: 2, tiers: presetTiers(), flushIntervalMs: 0 });
  try {
    engine.submit({ type: 'clock', time: Date.UTC(2026, 0, 5, 9) });
    engine.submit({ type: 'create', assessmentId: 'busy-1', traderId: 't', tierId: 'one-step-50k' });
    let seq = 0;
    let flowing = true;
    const pump = (): void => {
      if (!flowing) return;
      for (let k = 0; k < 50; k++)
        engine.submit({ type: 'tick', seq: ++seq, ts: Date.UTC(2026, 0, 5, 9) + seq, symbol: 'BTC-USD', bid: 60_000, ask: 60_010 });
      setImmediate(pump);
    };
    pump();
    await until(() => seq >= 500, { what: 'the market to be flowing' });
    const asked = await Promise.race([engine.state('busy-1'), new Promise((r) => setTimeout(() => r('timeout'), 5_000))]);
    flowing = false;
    assert.notEqual(asked, 'timeout', 'a barrier under a continuous market would never settle');
    assert.equal((asked as { id: string }).id, 'busy-1');
  } finally {
    await engine.stop();
  }
});

test('a staggered flush gives every watched or changed assessment exactly one delta per round of slices, a slice at a time', () => {
  const k = new ShardKernel({ tiers: presetTiers() });
  k.apply({ i: 0, input: { type: 'clock', time: T0 } });
  const ids = Array.from({ length: 10 }, (_, n) => `s${n}`);
  ids.forEach((id, n) => k.apply({ i: n + 1, input: { type: 'create', assessmentId: id, traderId: 't', tierId: 'one-step-50k' } }));
  k.takeDeltas(); // the creations made every one changed
  k.watch(['s0', 's3', 's4', 's9', 'later']);
  const order = { kind: 'place', clientOrderId: 'c', symbol: 'BTC-USD', side: 'buy', type: 'limit', qty: 0.1, limitPrice: 50_000 } as const;
  k.apply({ i: 11, input: { type: 'command', assessmentId: 's5', command: order } }); // changed, not watched
  k.apply({ i: 12, input: { type: 'create', assessmentId: 'later', traderId: 't', tierId: 'one-step-50k' } }); // watched before it existed
  const rounds = [0, 1].map(() => [0, 1, 2].map((slice) => k.takeDeltas(slice, 3).map((d) => d.assessmentId)));
  assert.deepEqual(rounds[0]!.flat().sort(), ['later', 's0', 's3', 's4', 's5', 's9']);
  assert.deepEqual(rounds[1]!.flat().sort(), ['later', 's0', 's3', 's4', 's9'], 'a change goes out once; the watched, every round');
  assert.ok(
    rounds[0]!.every((slice) => slice.length < 6),
    'no slice carries them all',
  );
  k.watch(['s3'], false);
  assert.deepEqual([0, 1, 2].flatMap((slice) => k.takeDeltas(slice, 3).map((d) => d.assessmentId)).sort(), ['later', 's0', 's4', 's9']);
});

test('an engine spreads each delta flush over slices of its interval', async () => {
  const batches: string[][] = [];
  const engine = await Engine.start({
    workers: 1,
    tiers: presetTiers(),
    flushIntervalMs: 200,
    deltaSlices: 4,
    output: { onEvents: () => {}, onDeltas: (ds) => void batches.push(ds.map((d) => d.assessmentId)) },
  });
  try {
    const ids = Array.from({ length: 40 }, (_, n) => `w${n}`);
    engine.submit({ type: 'clock', time: T0 });
    for (const id of ids) engine.submit({ type: 'create', assessmentId: id, traderId: 't', tierId: 'one-step-50k' });
    await engine.barrier();
    await until(() => new Set(batches.flat()).size === ids.length, { what: "the creations' deltas" });
    engine.watch(ids);
    batches.length = 0;
    await new Promise((r) => setTimeout(r, 1_000)); // the window the deltas are counted over, not a wait for a condition
    const counts = new Map<string, number>();
    for (const b of batches) for (const id of b) counts.set(id, (counts.get(id) ?? 0) + 1);
    assert.deepEqual([...counts.keys()].sort(), [...ids].sort(), 'every watched assessment gets deltas');
    assert.ok(
      batches.every((b) => b.length <= 10),
      `batches of ${batches.map((b) => b.length).join(', ')}: a quarter of 40 each`,
    );
    assert.ok(
      [...counts.values()].every((c) => c >= 2 && c <= 6),
      `about one per 200 ms: ${[...counts.values()].join(', ')}`,
    );
  } finally {
    await engine.stop();
  }
});

test('with acks of quiet batches held a minute, a barrier still returns at once and events still arrive at once', async () => {
  const events: string[] = [];
  const engine = await Engine.start({
    workers: 2,
    tiers: presetTiers(),
    flushIntervalMs: 0,
    ackDelayMs: 60_000,
    output: {
      onEvents: (e) => {
        for (const x of e) events.push(x.type);
      },
    },
  });
  try {
    engine.submit({ type: 'clock', time: T0 });
    engine.submit({ type: 'create', assessmentId: 'a', traderId: 't', tierId: 'one-step-50k' });
    await until(() => events.includes('assessment.created'), {
      what: 'the creation event (its batch acked with it, not held)',
      intervalMs: 5,
    });
    // Ticks that move nothing emit no events: their acks are held, and only the barrier's sync releases them.
    for (let k = 1; k <= 50; k++) {
      engine.submit({ type: 'tick', seq: k, ts: T0 + k, symbol: 'BTC-USD', bid: 60_000 + k, ask: 60_010 + k });
      await new Promise((r) => setImmediate(r));
    }
    const waited = Date.now();
    await engine.barrier();
    assert.ok(Date.now() - waited < 10_000, 'barrier() asked for the held acks');
    assert.deepEqual(
      engine.shards().map((s) => s.pendingInputs),
      [0, 0],
    );
    assert.equal(
      engine.shards().reduce((n, s) => n + (s.stats?.ticks ?? 0), 0),
      100,
      'both shards applied and reported all 50 ticks',
    );
  } finally {
    await engine.stop();
  }
});
