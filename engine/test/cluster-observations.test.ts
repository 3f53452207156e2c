/**
 * What the cluster test concludes from its observations: when two nodes
 * certainly served one shard at once, which shards moved, and how long a
 * moved shard went without answering traders.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { OperatorShards } from '../cluster/ops-server.js';
import { servingFrom } from './chaos/cluster-observer.js';
import { OwnershipLog } from './chaos/ownership-log.js';
import { pauseOf, pausesByKind, percentile } from './chaos/pause-figures.js';

const serving = (...pairs: Array<[number, number]>) => new Map(pairs);

describe('ownership observations', () => {
  test('a shard handed from one node to another between polls is a move, not an overlap', () => {
    const log = new OwnershipLog();
    log.add({ node: 'a', sentAt: 0, receivedAt: 1, serving: serving([7, 1], [8, 1]) });
    log.add({ node: 'b', sentAt: 0, receivedAt: 1, serving: serving() });
    log.add({ node: 'a', sentAt: 10, receivedAt: 11, serving: serving([8, 1]) });
    log.add({ node: 'b', sentAt: 10, receivedAt: 11, serving: serving([7, 2]) });
    assert.deepEqual(log.overlaps(), []);
    assert.deepEqual(log.moves(), [{ shard: 7, from: 'a', to: 'b', at: 11, lastSeenBefore: 1 }]);
    assert.deepEqual([...log.owners()].sort(), [
      [7, 'b'],
      [8, 'a'],
    ]);
  });

  test('two answers of one round naming the same shard are not an overlap on their own (one may have released it in between)', () => {
    const log = new OwnershipLog();
    log.add({ node: 'a', sentAt: 0, receivedAt: 5, serving: serving([3, 1]) });
    log.add({ node: 'b', sentAt: 0, receivedAt: 5, serving: serving([3, 2]) });
    log.add({ node: 'a', sentAt: 10, receivedAt: 11, serving: serving() });
    log.add({ node: 'b', sentAt: 10, receivedAt: 11, serving: serving([3, 2]) });
    assert.deepEqual(log.overlaps(), []);
  });

  test("a node seen serving a shard inside another node's certain stretch of it is an overlap", () => {
    const log = new OwnershipLog();
    log.add({ node: 'a', sentAt: 0, receivedAt: 1, serving: serving([3, 1]) });
    log.add({ node: 'b', sentAt: 4, receivedAt: 5, serving: serving([3, 2]) });
    log.add({ node: 'a', sentAt: 10, receivedAt: 11, serving: serving([3, 1]) });
    assert.deepEqual(log.overlaps(), [{ shard: 3, nodes: ['a', 'b'], at: 4 }]);
  });

  test('two certain stretches that cross are an overlap; a new epoch on the same node starts a new stretch', () => {
    const log = new OwnershipLog();
    log.add({ node: 'a', sentAt: 0, receivedAt: 1, serving: serving([3, 1]) });
    log.add({ node: 'b', sentAt: 2, receivedAt: 3, serving: serving([3, 2]) });
    log.add({ node: 'a', sentAt: 6, receivedAt: 7, serving: serving([3, 1]) });
    log.add({ node: 'b', sentAt: 8, receivedAt: 9, serving: serving([3, 2]) });
    assert.equal(log.overlaps().length, 1);
    const again = new OwnershipLog();
    again.add({ node: 'a', sentAt: 0, receivedAt: 1, serving: serving([3, 1]) });
    again.add({ node: 'a', sentAt: 6, receivedAt: 7, serving: serving([3, 3]) });
    assert.deepEqual(again.moves(), [{ shard: 3, from: 'a', to: 'a', at: 7, lastSeenBefore: 1 }]);
  });

  test('a node that is gone keeps no stretch open', () => {
    const log = new OwnershipLog();
    log.add({ node: 'a', sentAt: 0, receivedAt: 1, serving: serving([3, 1]) });
    log.gone('a');
    log.add({ node: 'b', sentAt: 20, receivedAt: 21, serving: serving([3, 2]) });
    assert.deepEqual([...log.owners()], [[3, 'b']]);
    assert.deepEqual(log.overlaps(), []);
    assert.throws(() => log.add({ node: 'b', sentAt: 10, receivedAt: 11, serving: serving() }), RangeError);
  });
});

test('a node serves the shards its ops answer gives a lag for, at their owner epochs', () => {
  const body: OperatorShards = {
    node: 'n1',
    members: [],
    moves: { acquire: 2, release: 0, takeover: 0 },
    marketSeq: 10,
    marketTail: 10,
    served: 2,
    shards: [
      { shard: 0, key: 'v0000', owner: 'n1', epoch: 3, released: false, lag: { marketInputs: 0, checkpointAgeMs: 5 } },
      { shard: 1, key: 'v0001', owner: 'n2', epoch: 7, released: false },
      { shard: 2, key: 'v0002', owner: 'n1', epoch: 1, released: false, lag: { marketInputs: null, checkpointAgeMs: 0 } },
      { shard: 3, key: 'v0003', owner: null, epoch: null, released: false },
    ],
  };
  assert.deepEqual(
    [...servingFrom(body)],
    [
      [0, 3],
      [2, 1],
    ],
  );
  assert.throws(() => servingFrom({ error: { code: 'NOT_FOUND' } }), /no "shards" list/);
});

describe('pause figures', () => {
  test('the pause of a shard is its longest gap between answers reaching into the window', () => {
    const times = [0, 100, 200, 300, 1_800, 1_900, 2_000];
    assert.equal(pauseOf(times, { start: 250, end: 1_000 }), 1_500);
    assert.equal(pauseOf(times, { start: 1_850, end: 1_950 }), 100);
    assert.equal(pauseOf(times, { start: -5, end: 10 }), undefined, 'no answer before the window: nothing to measure from');
    assert.equal(pauseOf([0, 100], { start: 150, end: 200 }), Infinity, 'never answered again');
    assert.equal(pauseOf(undefined, { start: 0, end: 1 }), undefined);
  });

  test('pauses are told apart by window kind and by whether the shard moved', () => {
    const answers = new Map([
      [1, [0, 100, 900, 1_000]],
      [2, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1_000]],
    ]);
    const by = pausesByKind(answers, [
      { kind: 'graceful', start: 150, end: 850, moved: new Set([1]) },
      { kind: 'crash', start: 950, end: 990, moved: new Set([2]) },
    ]);
    assert.deepEqual(by.get('graceful'), { moved: [800], unmoved: [100] });
    assert.deepEqual(by.get('crash'), { moved: [100], unmoved: [100] });
    assert.equal(percentile([5, 1, 4, 2, 3], 50), 3);
    assert.equal(percentile([5, 1, 4, 2, 3], 99), 5);
    assert.ok(Number.isNaN(percentile([], 50)));
  });
});
