import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_INSTRUMENTS } from '../../actors/index.js';
import { runInputs } from '../engine.js';
import { compareOutput, type EngineInput, type OutputEvent } from '../inputs.js';
import { ShardKernel, type IndexMode } from '../shard-kernel.js';
import { Engine } from '../engine.js';
import { tapeArb, thinClock, withClockEvery } from './tape-arbitrary.js';

function runKernel(inputs: readonly EngineInput[], mode: IndexMode, onInput?: (k: ShardKernel, i: number) => void) {
  const k = new ShardKernel({ mode, instruments: DEFAULT_INSTRUMENTS });
  inputs.forEach((input, i) => {
    k.apply({ i, input });
    onInput?.(k, i);
  });
  return { kernel: k, events: k.drainEvents().sort(compareOutput) };
}

test('the price index emits exactly the events of a full scan, and leaves exactly the same state, on every generated tape', () => {
  fc.assert(
    fc.property(tapeArb(), (inputs) => {
      const indexed = runKernel(inputs, 'indexed');
      const scanned = runKernel(inputs, 'full-scan');
      assert.deepStrictEqual(indexed.events, scanned.events);
      assert.deepStrictEqual(indexed.kernel.assessmentIds(), scanned.kernel.assessmentIds());
      for (const id of scanned.kernel.assessmentIds()) assert.deepStrictEqual(indexed.kernel.state(id), scanned.kernel.state(id), id);
    }),
    { numRuns: 150, seed: 20261122 },
  );
});

/** Each assessment's events in order, without their place in the input order (which the clock cadence moves). */
function storyByAssessment(events: readonly OutputEvent[]): Map<string, unknown[]> {
  const out = new Map<string, unknown[]>();
  for (const { input: _i, n: _n, ...rest } of events) {
    const list = out.get(rest.assessmentId) ?? [];
    list.push(rest);
    out.set(rest.assessmentId, list);
  }
  return out;
}

test('the same tape with a clock beat every minute and with its clock inputs thinned out at random gives the same events and states', () => {
  fc.assert(
    fc.property(tapeArb(), fc.array(fc.boolean(), { minLength: 64, maxLength: 64 }), fc.integer({ min: 0, max: 3 }), (tape, mask, bias) => {
      const dense = withClockEvery(tape, 60_000);
      // Drop clock inputs at random, more or less of them per case: up to every one that does not date a command.
      const sparse = thinClock(dense, (k) => bias === 3 || (mask[k % mask.length]! && (bias === 0 || k % (bias + 1) !== 0)));
      assert.ok(sparse.length < dense.length || dense.length === tape.length);
      for (const mode of ['indexed', 'full-scan'] as const) {
        const a = runKernel(dense, mode);
        const b = runKernel(sparse, mode);
        assert.deepStrictEqual(storyByAssessment(b.events), storyByAssessment(a.events), mode);
        for (const id of a.kernel.assessmentIds()) assert.deepStrictEqual(b.kernel.state(id), a.kernel.state(id), `${mode} ${id}`);
      }
    }),
    { numRuns: 40, seed: 20261206 },
  );
});

test('after every input no active assessment sits below a floor, and equity equals balance plus unrealized P&L', () => {
  fc.assert(
    fc.property(tapeArb(), (inputs) => {
      runKernel(inputs, 'indexed', (k) => {
        const deltas = new Map(k.takeDeltas().map((d) => [d.assessmentId, d]));
        for (const id of k.assessmentIds()) {
          const s = k.state(id)!;
          let unrealized = 0;
          for (const p of Object.values(s.positions)) {
            const q = k.book.quote(p.symbol)!;
            unrealized += ((p.qty > 0 ? q.bid : q.ask) - p.avgEntry) * p.qty;
          }
          const equity = s.balance + unrealized;
          const delta = deltas.get(id);
          if (delta !== undefined)
            assert.ok(
              Math.abs(delta.equity - equity) <= 1e-6 * Math.max(1, Math.abs(equity)),
              `${id}: delta equity ${delta.equity} vs ${equity}`,
            );
          if (s.status !== 'active') continue;
          const tol = 1e-7 * s.startingBalance;
          if (s.lockedBy !== 'daily-loss')
            assert.ok(equity >= s.rules.dailyFloor - tol, `${id}: equity ${equity} below daily floor ${s.rules.dailyFloor} unjudged`);
          assert.ok(equity >= s.rules.maxLossFloor - tol, `${id}: equity ${equity} below max-loss floor ${s.rules.maxLossFloor} unjudged`);
        }
      });
    }),
    { numRuns: 100, seed: 7 },
  );
});

test('cash and positions are conserved across every fill and settlement', () => {
  fc.assert(
    fc.property(tapeArb(), (inputs) => {
      const { kernel, events } = runKernel(inputs, 'indexed');
      const ledger = new Map<string, { cash: number; pos: Map<string, number> }>();
      for (const e of events as OutputEvent[]) {
        if (e.type === 'assessment.started') ledger.set(e.assessmentId, { cash: e.balance, pos: new Map() });
        const l = ledger.get(e.assessmentId);
        if (l === undefined) continue;
        if (e.type === 'order.filled') {
          const signed = e.side === 'buy' ? e.qty : -e.qty;
          l.pos.set(e.symbol, (l.pos.get(e.symbol) ?? 0) + signed);
          l.cash -= signed * e.price + e.fee;
        } else if (e.type === 'position.settled') {
          l.pos.set(e.symbol, (l.pos.get(e.symbol) ?? 0) - e.qty);
          l.cash += e.qty * e.payout;
        }
      }
      for (const id of kernel.assessmentIds()) {
        const s = kernel.state(id)!;
        const l = ledger.get(id)!;
        let heldAtCost = 0;
        for (const [symbol, qty] of l.pos) {
          const held = s.positions[symbol]?.qty ?? 0;
          assert.ok(Math.abs(qty - held) < 1e-6, `${id} ${symbol}: fills sum to ${qty}, position is ${held}`);
        }
        for (const p of Object.values(s.positions)) heldAtCost += p.qty * p.avgEntry;
        // Cash paid out for what is held, at cost, plus the balance, is what the fills say.
        assert.ok(
          Math.abs(s.balance - heldAtCost - l.cash) <= 1e-6 * s.startingBalance,
          `${id}: balance ${s.balance} − cost ${heldAtCost} ≠ ledger cash ${l.cash}`,
        );
      }
    }),
    { numRuns: 100, seed: 99 },
  );
});

test('a kernel snapshot taken at any input and restored continues exactly as the uninterrupted run', () => {
  fc.assert(
    fc.property(tapeArb(), fc.double({ min: 0, max: 1, noNaN: true }), (inputs, at) => {
      const cut = Math.floor(at * inputs.length);
      const whole = runKernel(inputs, 'indexed').events;
      const first = new ShardKernel({ instruments: DEFAULT_INSTRUMENTS });
      inputs.slice(0, cut).forEach((input, i) => first.apply({ i, input }));
      const before = first.drainEvents();
      const restored = ShardKernel.restore(structuredClone(first.snapshot()));
      inputs.slice(cut).forEach((input, j) => restored.apply({ i: cut + j, input }));
      assert.deepStrictEqual([...before, ...restored.drainEvents()].sort(compareOutput), whole);
    }),
    { numRuns: 80, seed: 3 },
  );
});

test('the same tape gives identical events and final states on 1, 2 and 4 worker threads', async () => {
  const tapes = fc.sample(tapeArb(400), { numRuns: 4, seed: 42 });
  for (const inputs of tapes) {
    const outputs: string[] = [];
    for (const workers of [1, 2, 4]) {
      const { events, engine } = await runInputs(inputs, { workers });
      const states = await Promise.all((await engine.assessmentIds()).map((id) => engine.state(id)));
      await engine.stop();
      outputs.push(JSON.stringify({ events, states }));
    }
    assert.ok(outputs[0]!.length > 100);
    assert.equal(outputs[1], outputs[0]);
    assert.equal(outputs[2], outputs[0]);
  }
});

test('an engine snapshot taken on 2 workers and restored on 3 continues exactly as the uninterrupted run', async () => {
  const [inputs] = fc.sample(tapeArb(400), { numRuns: 1, seed: 8 });
  const cut = Math.floor(inputs!.length / 2);
  const whole = await runInputs(inputs!, { workers: 2 });
  await whole.engine.stop();

  const collected: OutputEvent[] = [];
  const output = {
    onEvents: (e: readonly OutputEvent[]) => {
      collected.push(...e);
    },
  };
  const first = await Engine.start({ workers: 2, flushIntervalMs: 0, output });
  for (const input of inputs!.slice(0, cut)) first.submit(input);
  const snap = await first.snapshot();
  await first.stop();
  const second = await Engine.restore(snap, { workers: 3, flushIntervalMs: 0, output });
  for (const input of inputs!.slice(cut)) second.submit(input);
  await second.barrier();
  await second.stop();
  assert.deepStrictEqual(collected.sort(compareOutput), whole.events);
});
