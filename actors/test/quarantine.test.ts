import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import { Harness, ofType, RESET1 } from './harness.js';

const tier = parseTier({
  id: 'q',
  version: 1,
  name: 'Quarantine',
  timezone: 'UTC',
  kinds: ['linear'],
  leverage: 10,
  fees: { linear: 0, binary: 0 },
  phases: [{ name: 'challenge', startingBalance: 100_000, rules: { dailyLoss: { limit: { amount: 1_000 } } } }],
});

test('an actor whose step throws is quarantined alone while the others on the kernel keep trading', () => {
  let faulty: string | undefined;
  const h = new Harness(tier, {
    assessments: ['a1', 'a2', 'a3'],
    beforeStep: (id) => {
      if (id === faulty) throw new Error(`injected fault in ${id}`);
    },
  });
  h.tick('ETH-USD', 2_000, 2_000);
  for (const id of ['a1', 'a2', 'a3']) h.buy('ETH-USD', 10, {}, id);
  faulty = 'a2';

  const fault = h.buy('ETH-USD', 1, {}, 'a2');
  const others = h.buy('ETH-USD', 1, {}, 'a3');
  const breach = h.tick('ETH-USD', 1_899, 1_899); // crosses every account's daily floor
  const later = h.command({ kind: 'flatten' }, 'a2');
  const reset = h.clock(RESET1);

  assert.deepEqual(
    fault.map((e) => [e.type, e.assessmentId]),
    [['actor.quarantined', 'a2']],
  );
  assert.match(ofType(fault, 'actor.quarantined')[0]!.error, /injected fault in a2/);
  assert.deepEqual(
    ofType(others, 'order.filled').map((e) => [e.assessmentId, e.qty]),
    [['a3', 1]],
  );
  assert.deepEqual(
    ofType(breach, 'assessment.failed')
      .map((e) => e.assessmentId)
      .sort(),
    ['a1', 'a3'],
  );
  assert.deepEqual(
    ofType(later, 'engine.input-rejected').map((e) => [e.assessmentId, e.reason]),
    [['a2', 'ACTOR_QUARANTINED']],
  );
  assert.ok(reset.every((e) => e.assessmentId !== 'a2'));
  assert.equal(h.kernel.stats.quarantined, 1);
  const a2 = h.state('a2');
  assert.equal(a2.status, 'active');
  assert.equal(a2.positions['ETH-USD']?.qty, 10); // frozen as it was before the fault
});

test('a quarantined actor stays quarantined even once the fault is gone', () => {
  let armed = true;
  const h = new Harness(tier, {
    assessments: ['a1', 'a2'],
    beforeStep: (id) => {
      if (armed && id === 'a1') throw new Error('boom');
    },
  });
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 1, {}, 'a1');
  armed = false;

  const retry = h.buy('ETH-USD', 1, {}, 'a1');
  const healthy = h.buy('ETH-USD', 1, {}, 'a2');

  assert.deepEqual(
    ofType(retry, 'engine.input-rejected').map((e) => e.reason),
    ['ACTOR_QUARANTINED'],
  );
  assert.equal(ofType(healthy, 'order.filled').length, 1);
  assert.equal(h.kernel.snapshot().actors.find((a) => a.state.id === 'a1')?.quarantined, true);
});
