import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AllotmentError, fnv1a32, ShardAllotment, shardOf, VIRTUAL_SHARDS } from '../shard.js';

test('the shard function is FNV-1a 32 over UTF-8 and its values never change', () => {
  // Published FNV-1a test vectors, then pinned ids: a change here re-homes live assessments.
  assert.equal(fnv1a32(''), 0x811c9dc5);
  assert.equal(fnv1a32('a'), 0xe40c292c);
  assert.equal(fnv1a32('foobar'), 0xbf9cf968);
  assert.equal(VIRTUAL_SHARDS, 1024);
  const golden: Array<[string, number]> = [
    ['asmt-000001', 280],
    ['asmt-123456', 532],
    ['7f3c2a1e-5b9d-4e2f-8a6c-1d0e9f8b7a65', 266],
    ['trader:ünïcødé', 740],
    ['', 453],
    ['a', 300],
  ];
  for (const [id, vshard] of golden) assert.equal(shardOf(id), vshard, id);
});

test('the shard function hashes ASCII and non-ASCII ids alike over their UTF-8 bytes', () => {
  const reference = (key: string): number => {
    let h = 0x811c9dc5;
    for (const b of new TextEncoder().encode(key)) h = Math.imul(h ^ b, 0x01000193) >>> 0;
    return h >>> 0;
  };
  const parts = ['a', 'Z', '-', '0', '\u007f', 'é', 'ü', '€', '😀', '\u0000'];
  for (let n = 0; n < 5_000; n++) {
    let id = '';
    for (let k = n; k > 0; k = Math.floor(k / parts.length)) id += parts[k % parts.length];
    assert.equal(fnv1a32(id), reference(id), JSON.stringify(id));
  }
});

test('virtual shards spread evenly enough over many ids', () => {
  const counts = new Array<number>(VIRTUAL_SHARDS).fill(0);
  const n = 200_000;
  for (let i = 0; i < n; i++) counts[shardOf(`assessment-${i}`)]!++;
  const mean = n / VIRTUAL_SHARDS;
  // Binomial std ≈ sqrt(mean): every shard within 6 std of the mean.
  for (const c of counts) assert.ok(Math.abs(c - mean) < 6 * Math.sqrt(mean), `shard count ${c} vs mean ${mean}`);
});

test('an even allotment gives each owner a contiguous range of virtual shards', () => {
  const a = ShardAllotment.even(3);
  const sizes = [0, 1, 2].map((o) => a.shardsOf(o).length);
  assert.equal(
    sizes.reduce((x, y) => x + y),
    VIRTUAL_SHARDS,
  );
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  for (const o of [0, 1, 2]) {
    const s = a.shardsOf(o);
    assert.equal(s[s.length - 1]! - s[0]! + 1, s.length);
  }
  assert.equal(a.ownerOf('asmt-000001'), a.ownerOfShard(280));
});

test('moving a virtual shard changes only its owner and bumps the epoch', () => {
  const a = ShardAllotment.even(2);
  const before = a.toJSON();
  assert.equal(a.move(5, 1), 1);
  const after = a.toJSON();
  assert.equal(after.table[5], 1);
  assert.deepEqual(
    after.table.filter((_, v) => v !== 5),
    before.table.filter((_, v) => v !== 5),
  );
  assert.deepEqual(ShardAllotment.from(after).toJSON(), after);
});

test('an allotment refuses owners and shards it does not have', () => {
  assert.throws(() => ShardAllotment.even(0), AllotmentError);
  assert.throws(() => ShardAllotment.even(2).move(VIRTUAL_SHARDS, 0), /no virtual shard/);
  assert.throws(() => ShardAllotment.even(2).move(0, 2), /no owner 2/);
  assert.throws(() => ShardAllotment.from({ virtualShards: 4, owners: 2, table: [0, 1, 2, 0], epoch: 0 }), /out of range/);
});
