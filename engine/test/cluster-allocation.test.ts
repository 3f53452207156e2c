import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { allocate, AllocationError, loads, movedBetween } from '../cluster/allocation.js';
import { planMoves } from '../cluster/move-planner.js';
import type { ShardOwner } from '../cluster/cluster-ports.js';
import { VIRTUAL_SHARDS } from '../shard.js';

const names = (n: number, prefix = 'engine-') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('shard allocation', () => {
  test('is deterministic: the same members in any order give the same owner for every shard', () => {
    const a = allocate(['engine-2', 'engine-0', 'engine-1']);
    const b = allocate(['engine-1', 'engine-2', 'engine-0']);
    assert.deepEqual(a.owner, b.owner);
    assert.equal(a.owner.length, VIRTUAL_SHARDS);
  });

  test('balances every member to floor or ceil of 1024 / N', () => {
    for (const n of [1, 2, 3, 5, 7, 10, 16, 33, 100]) {
      const l = [...loads(allocate(names(n, `n${n}-`))).values()];
      assert.equal(
        l.reduce((s, x) => s + x, 0),
        VIRTUAL_SHARDS,
      );
      assert.ok(
        Math.min(...l) >= Math.floor(VIRTUAL_SHARDS / n) && Math.max(...l) <= Math.ceil(VIRTUAL_SHARDS / n),
        `${n} members: loads ${Math.min(...l)}..${Math.max(...l)}`,
      );
    }
  });

  test('a join moves close to 1024 / (N + 1) shards, almost all to the newcomer; a leave moves little more than the leaver held', () => {
    const report: string[] = [];
    for (const n of [1, 2, 3, 4, 5, 8, 10]) {
      for (const prefix of ['engine-', 'pod-', 'vatic-engine-']) {
        const before = allocate(names(n, prefix));
        const joined = allocate([...names(n, prefix), `${prefix}new`]);
        const ideal = VIRTUAL_SHARDS / (n + 1);
        const moved = movedBetween(before, joined);
        let toNew = 0;
        for (let v = 0; v < VIRTUAL_SHARDS; v++) if (before.owner[v] !== joined.owner[v] && joined.owner[v] === `${prefix}new`) toNew++;
        assert.ok(moved <= ideal * 1.25 + 8, `${n}→${n + 1} (${prefix}): moved ${moved}, ideal ${ideal.toFixed(0)}`);
        assert.equal(toNew, loads(joined).get(`${prefix}new`), 'everything the newcomer holds came from the others');
        assert.ok(toNew >= moved * 0.75, `most moves go to the newcomer (${toNew} of ${moved})`);
        if (n > 1) {
          const left = allocate(names(n, prefix).slice(1));
          const held = loads(before).get(`${prefix}0`)!;
          const movedOnLeave = movedBetween(before, left);
          assert.ok(
            movedOnLeave >= held && movedOnLeave <= held * 1.25 + 8,
            `${n}→${n - 1} (${prefix}): moved ${movedOnLeave}, the leaver held ${held}`,
          );
        }
        report.push(`${n}→${n + 1}: ${moved} (ideal ${ideal.toFixed(0)})`);
      }
    }
  });

  test('refuses an empty or repeated member list with a code', () => {
    assert.throws(
      () => allocate([]),
      (e: unknown) => e instanceof AllocationError && e.code === 'INVALID_ALLOCATION',
    );
    assert.throws(() => allocate(['a', 'a']), AllocationError);
  });
});

describe('move planning', () => {
  const owner = (shard: number, ownerNode: string | null, released = false, epoch = 1): [number, ShardOwner] => [
    shard,
    { shard, epoch, ownerNode, released },
  ];

  test('takes only shards nobody live holds, waits for the others, and hands over what is targeted elsewhere, bounded per round', () => {
    const target = allocate(['a', 'b']);
    const mineNow = new Set<number>();
    for (let v = 0; v < VIRTUAL_SHARDS; v++) if (target.owner[v] === 'b') mineNow.add(v); // 'a' serves b's share before b joined
    const owners = new Map<number, ShardOwner>();
    for (let v = 0; v < VIRTUAL_SHARDS; v++) owners.set(...owner(v, 'a'));
    const asA = planMoves({
      me: 'a',
      target,
      owners,
      live: new Set(['a', 'b']),
      busy: new Set(),
      serving: new Set(Array.from({ length: VIRTUAL_SHARDS }, (_, v) => v)),
      maxMoves: 100,
    });
    assert.equal(asA.release.length, 100, 'at most maxMoves hand-overs per round');
    assert.ok(asA.release.every((v) => target.owner[v] === 'b'));
    assert.equal(asA.acquire.length, 0);
    const asB = planMoves({ me: 'b', target, owners, live: new Set(['a', 'b']), busy: new Set(), serving: new Set(), maxMoves: 100 });
    assert.equal(asB.acquire.length, 0, 'nothing is taken from a live holder');
    assert.equal(asB.waiting, mineNow.size);
    for (const v of asA.release) owners.set(...owner(v, 'a', true));
    const next = planMoves({ me: 'b', target, owners, live: new Set(['a', 'b']), busy: new Set(), serving: new Set(), maxMoves: 1_000 });
    assert.deepEqual(
      next.acquire.map((x) => x.shard),
      asA.release,
      'released shards are taken',
    );
    const afterCrash = planMoves({ me: 'b', target, owners, live: new Set(['b']), busy: new Set(), serving: new Set(), maxMoves: 1_000 });
    assert.equal(afterCrash.acquire.length, mineNow.size, 'a holder whose lease lapsed holds nothing');
  });
});
