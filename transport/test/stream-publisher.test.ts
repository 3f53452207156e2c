import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { countedWatch } from '../nats/shard-host.js';
import { StreamPublisher, WatchLimitError } from '../nats/stream-publisher.js';

const delta = (assessmentId: string) => ({
  assessmentId,
  status: 'active',
  phase: 'challenge',
  startingBalance: 50_000,
  balance: 50_000,
  equity: 50_012.5,
  dailyFloor: -Infinity,
  maxLossFloor: 45_000,
  positions: [],
  workingOrders: 0,
  input: 7,
  at: 1_767_000_000_000,
});

describe('the stream publisher of an owner', () => {
  test("a counted watch (the publisher's and an in-process gateway's) tells the engine of the first watcher and of the last to leave only", () => {
    const calls: Array<[string[], boolean]> = [];
    const watch = countedWatch((ids, on) => void calls.push([[...ids], on]));
    watch(['a', 'b'], true);
    watch(['a'], true);
    watch(['a', 'b'], false);
    watch(['a'], false);
    watch(['c'], false); // never watched: nothing to say
    assert.deepEqual(calls, [
      [['a', 'b'], true],
      [['b'], false],
      [['a'], false],
    ]);
  });

  test('leases are bounded per gateway and per node, expire unless renewed, and a new stream starts above every seq given so far', () => {
    let now = 0;
    const sent: Array<[string, Uint8Array]> = [];
    const watched = new Set<string>();
    const p = new StreamPublisher(
      { publish: (s, d) => void sent.push([s, d]) },
      (ids, on) => ids.forEach((id) => (on ? watched.add(id) : watched.delete(id))),
      {
        namespace: 'ns',
        leaseMs: 1_000,
        maxWatchesPerGateway: 2,
        maxGateways: 2,
        clock: () => now,
      },
    );
    assert.deepEqual(p.lease('g1', 5, 3, ['a', 'b']), [0, 0]);
    assert.throws(() => p.lease('g1', 5, 3, ['c']), WatchLimitError);
    assert.deepEqual(p.lease('g1', 5, 3, ['a', 'b']), [0, 0], 'a renewal is no new lease');
    p.lease('g2', 5, 3, ['a']);
    assert.throws(() => p.lease('g3', 5, 3, ['a']), /2 gateways/);
    assert.deepEqual([...watched].sort(), ['a', 'b']);
    p.onDeltas([delta('a'), delta('b'), delta('z')]);
    p.onDeltas([delta('a')]);
    assert.deepEqual(
      sent.map(([s]) => s),
      ['ns.engine.stream.a', 'ns.engine.stream.b', 'ns.engine.stream.a'],
      'only watched assessments',
    );
    assert.deepEqual(p.position('a'), { epoch: 3, seq: 2 });
    now = 900;
    p.lease('g1', 5, 3, ['b']);
    now = 1_500;
    p.sweep();
    assert.equal(p.position('a'), undefined, 'a: every lease ran out');
    assert.deepEqual(p.position('b'), { epoch: 3, seq: 1 }, 'b: renewed');
    assert.deepEqual([...watched], ['b']);
    assert.equal(p.gateways, 1);
    assert.deepEqual(p.lease('g1', 5, 3, ['a']), [2], 'a new stream of a starts above every seq given');
    p.lease('g1', 5, 4, ['b']);
    assert.deepEqual(p.position('b'), { epoch: 4, seq: 2 }, 'a lease at a new epoch of the shard starts a new stream');
    p.dropShard(5);
    assert.equal(p.streams, 0);
    assert.equal(watched.size, 0);
    assert.equal(p.gateways, 0);
  });
});
