import assert from 'node:assert/strict';
import { test } from 'node:test';
import { until, UntilTimeoutError } from '../testing/until.js';

test('until resolves with the first truthy value of its condition', async () => {
  let calls = 0;
  const value = await until(() => (++calls >= 3 ? { calls } : undefined), { what: 'a third call', intervalMs: 1 });
  assert.deepEqual(value, { calls: 3 });
});

test('until awaits an asynchronous condition', async () => {
  let n = 0;
  assert.equal(await until(async () => ++n === 2, { what: 'a second check', intervalMs: 1 }), true);
});

test('at its deadline until fails with a named error saying what was awaited, and the detail', async () => {
  const started = performance.now();
  await assert.rejects(
    until(() => false, { what: 'the impossible', deadlineMs: 50, intervalMs: 5, detail: () => 'last seen: nothing' }),
    (err: unknown) => {
      assert.ok(err instanceof UntilTimeoutError);
      assert.equal(err.code, 'UNTIL_TIMEOUT');
      assert.equal(err.what, 'the impossible');
      assert.match(err.message, /^timed out after 50 ms waiting for the impossible\nlast seen: nothing$/);
      return true;
    },
  );
  assert.ok(performance.now() - started >= 50, 'it waited out its deadline');
});

test('an error thrown by the condition fails until at once, not at the deadline', async () => {
  const started = performance.now();
  await assert.rejects(
    until(
      () => {
        throw new RangeError('broken');
      },
      { what: 'anything', deadlineMs: 10_000 },
    ),
    RangeError,
  );
  assert.ok(performance.now() - started < 5_000);
});
