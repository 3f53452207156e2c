import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { until } from '../../engine/testing/index.js';
import { SessionDeadlines } from '../server/session-deadlines.js';

interface S {
  readonly name: string;
  deadlineSlot: number;
}
const session = (name: string): S => ({ name, deadlineSlot: -1 });

test('deadlines fire once each, in deadline order, whatever order they were set in', async () => {
  const fired: string[] = [];
  const d = new SessionDeadlines<S>((s) => fired.push(s.name));
  const now = Date.now();
  const [a, b, c] = [session('a'), session('b'), session('c')];
  d.set(c, now + 60);
  d.set(a, now + 20);
  d.set(b, now + 40);
  await until(() => fired.length === 3, { what: 'three deadlines', deadlineMs: 5_000, intervalMs: 5 });
  assert.deepEqual(fired, ['a', 'b', 'c']);
  assert.equal(d.size, 0);
  assert.deepEqual(
    [a, b, c].map((s) => s.deadlineSlot),
    [-1, -1, -1],
  );
});

test('a deleted deadline never fires and the heap lets go of its session', async () => {
  const fired: string[] = [];
  const d = new SessionDeadlines<S>((s) => fired.push(s.name));
  const now = Date.now();
  const [a, b] = [session('a'), session('b')];
  d.set(a, now + 10);
  d.set(b, now + 30);
  d.delete(a);
  assert.equal(a.deadlineSlot, -1);
  assert.equal(d.size, 1);
  await until(() => fired.length === 1, { what: 'the remaining deadline', deadlineMs: 5_000, intervalMs: 5 });
  assert.deepEqual(fired, ['b']);
});

test('setting a session again moves its deadline rather than adding a second one', async () => {
  const fired: string[] = [];
  const d = new SessionDeadlines<S>((s) => fired.push(s.name));
  const now = Date.now();
  const [a, b] = [session('a'), session('b')];
  d.set(a, now + 10);
  d.set(b, now + 40);
  d.set(a, now + 80); // a re-auth: a later expiry
  assert.equal(d.size, 2);
  await until(() => fired.length === 2, { what: 'both deadlines', deadlineMs: 5_000, intervalMs: 5 });
  assert.deepEqual(fired, ['b', 'a']);
});

test('a stopped heap fires nothing and takes no more deadlines', async () => {
  const fired: string[] = [];
  const d = new SessionDeadlines<S>((s) => fired.push(s.name));
  d.set(session('a'), Date.now() + 5);
  d.stop();
  d.set(session('b'), Date.now() + 5);
  assert.equal(d.size, 0);
  const t = Date.now();
  await until(() => Date.now() - t > 50, { what: 'past both deadlines', deadlineMs: 5_000, intervalMs: 5 });
  assert.deepEqual(fired, []);
});

test('after any sets, moves and deletes the heap holds exactly the sessions left, its head the earliest', () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(19), fc.oneof(fc.integer({ min: 0, max: 1_000 }), fc.constant(-1))), { maxLength: 200 }),
      (ops) => {
        const d = new SessionDeadlines<S>(() => assert.fail('no deadline is due'));
        const sessions = Array.from({ length: 20 }, (_, k) => session(`s${k}`));
        const want = new Map<string, number>();
        for (const [k, at] of ops) {
          if (at < 0) {
            d.delete(sessions[k]!);
            want.delete(sessions[k]!.name);
          } else {
            d.set(sessions[k]!, at + 1e12); // far away: the real timer never fires within the test
            want.set(sessions[k]!.name, at + 1e12);
          }
        }
        assert.equal(d.size, want.size);
        // Take the head again and again: it always holds the earliest deadline left.
        for (const at of [...want.values()].sort((x, y) => x - y)) {
          const head = sessions.find((s) => s.deadlineSlot === 0);
          assert.ok(head !== undefined);
          assert.equal(want.get(head.name), at, `the head holds the earliest deadline left`);
          d.delete(head);
        }
        assert.ok(sessions.every((s) => s.deadlineSlot === -1));
        assert.equal(d.size, 0);
        d.stop();
      },
    ),
  );
});
