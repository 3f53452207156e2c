import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_INSTRUMENTS } from '../../actors/index.js';
import { Engine } from '../engine.js';
import { compareOutput, type EngineInput, type OutputEvent, type SequencedInput } from '../inputs.js';
import { ShardKernel } from '../shard-kernel.js';
import { shardOf } from '../shard.js';
import { tapeArb } from './tape-arbitrary.js';

/**
 * A tape as an engine node would see it: every market input (tick, clock,
 * resolution, tier) takes the next market seq as its coordinate, and every
 * create or command the coordinate of the market input before it.
 */
function coordinated(tape: readonly EngineInput[]): SequencedInput[] {
  let seq = 0;
  return tape.map((input, i) => {
    const assessment = input.type === 'create' || input.type === 'command';
    if (!assessment) seq++;
    return { i, input, at: seq };
  });
}

const isMarket = (si: SequencedInput): boolean => si.input.type !== 'create' && si.input.type !== 'command';
const assessmentOf = (si: SequencedInput): string => (si.input as { assessmentId: string }).assessmentId;
const sorted = (events: OutputEvent[]): OutputEvent[] => events.sort(compareOutput);

function kernel(): ShardKernel {
  return new ShardKernel({ instruments: DEFAULT_INSTRUMENTS });
}

test("events carry the coordinate they are given, and inputs that share one go on numbering each actor's events", () => {
  fc.assert(
    fc.property(tapeArb(), (tape) => {
      const inputs = coordinated(tape);
      const k = kernel();
      for (const si of inputs) k.apply(si);
      const events = k.drainEvents();
      const ids = events.map((e) => `${e.assessmentId}:${e.input}:${e.n}`);
      assert.equal(new Set(ids).size, ids.length, 'every (assessment, input, n) is unique');
      const coordinates = new Set(inputs.map((si) => si.at));
      for (const e of events) assert.ok(coordinates.has(e.input), `event input ${e.input} is a coordinate given`);
    }),
    { numRuns: 60, seed: 20261206 },
  );
});

test('a kernel restored between two inputs that share a coordinate emits exactly the events of an uninterrupted one', () => {
  fc.assert(
    fc.property(tapeArb(), fc.nat(), (tape, pick) => {
      const inputs = coordinated(tape);
      const whole = kernel();
      for (const si of inputs) whole.apply(si);
      // Cut right after a command whose successor shares its coordinate when there is one: where the cursor matters.
      const shared = inputs.findIndex((si, k) => k > 0 && !isMarket(si) && inputs[k - 1]!.at === si.at && !isMarket(inputs[k - 1]!));
      const cut = shared > 0 && pick % 2 === 0 ? shared : 1 + (pick % (inputs.length - 1));
      const first = kernel();
      for (const si of inputs.slice(0, cut)) first.apply(si);
      const before = first.drainEvents();
      const restored = ShardKernel.restore(structuredClone(first.snapshot()));
      for (const si of inputs.slice(cut)) restored.apply(si);
      assert.deepStrictEqual(sorted([...before, ...restored.drainEvents()]), sorted(whole.drainEvents()));
      for (const id of whole.assessmentIds()) assert.deepStrictEqual(restored.state(id), whole.state(id), id);
    }),
    { numRuns: 80, seed: 20261207 },
  );
});

test('actors moved to another kernel at an input boundary end in the state, with the events, of one uninterrupted kernel', () => {
  fc.assert(
    fc.property(tapeArb(), fc.nat(), fc.array(fc.boolean(), { minLength: 5, maxLength: 5 }), (tape, pick, moving) => {
      const inputs = coordinated(tape);
      const whole = kernel();
      for (const si of inputs) whole.apply(si);
      const moved = new Set(['a0', 'a1', 'a2', 'a3', 'a4'].filter((_, k) => moving[k]).map((id) => shardOf(id)));
      const cut = 1 + (pick % (inputs.length - 1));
      // The giver runs everything up to the cut, then lets the moving shards go.
      const giver = kernel();
      for (const si of inputs.slice(0, cut)) giver.apply(si);
      const early = giver.drainEvents();
      const { kernel: kept, removed } = giver.without((id) => moved.has(shardOf(id)));
      assert.ok(removed.every((a) => moved.has(shardOf(a.state.id))));
      assert.ok(kept.assessmentIds().every((id) => !moved.has(shardOf(id))));
      // The taker has read the same market up to the cut, then adopts them; after it each gets its own commands.
      const taker = kernel();
      for (const si of inputs.slice(0, cut)) if (isMarket(si)) taker.apply(si);
      taker.drainEvents();
      taker.adopt(structuredClone(removed));
      for (const si of inputs.slice(cut)) {
        if (isMarket(si)) {
          kept.apply(si);
          taker.apply(si);
        } else (moved.has(shardOf(assessmentOf(si))) ? taker : kept).apply(si);
      }
      assert.deepStrictEqual(sorted([...early, ...kept.drainEvents(), ...taker.drainEvents()]), sorted(whole.drainEvents()));
      for (const id of whole.assessmentIds()) {
        const holder = moved.has(shardOf(id)) ? taker : kept;
        assert.deepStrictEqual(holder.state(id), whole.state(id), id);
      }
    }),
    { numRuns: 80, seed: 20261208 },
  );
});

test('an engine releases a virtual shard at an input boundary and another engine adopts it, with the events of one uninterrupted engine', async () => {
  const [tape] = fc.sample(tapeArb(300), { numRuns: 1, seed: 42 });
  const inputs = coordinated(tape!);
  const ids = [...new Set(inputs.filter((si) => si.input.type === 'create').map(assessmentOf))];
  const moved = new Set([shardOf(ids[0]!), shardOf(ids[ids.length - 1]!)]);
  const events: OutputEvent[] = [];
  const output = { onEvents: (e: readonly OutputEvent[]) => void events.push(...e) };
  const wholeEvents: OutputEvent[] = [];
  const reference = await Engine.start({ workers: 2, flushIntervalMs: 0, output: { onEvents: (e) => void wholeEvents.push(...e) } });
  const giver = await Engine.start({ workers: 3, flushIntervalMs: 0, output });
  const taker = await Engine.start({ workers: 2, flushIntervalMs: 0, output });
  try {
    const cut = Math.floor(inputs.length / 2);
    for (const si of inputs) reference.submit(si.input, si.at);
    for (const si of inputs.slice(0, cut)) {
      giver.submit(si.input, si.at);
      if (isMarket(si)) taker.submit(si.input, si.at);
    }
    const removed = await giver.release([...moved]);
    assert.ok(removed.length > 0, 'the released shards held actors');
    taker.adopt(removed);
    for (const si of inputs.slice(cut)) {
      if (isMarket(si)) {
        giver.submit(si.input, si.at);
        taker.submit(si.input, si.at);
      } else (moved.has(shardOf(assessmentOf(si))) ? taker : giver).submit(si.input, si.at);
    }
    await Promise.all([reference.barrier(), giver.barrier(), taker.barrier()]);
    assert.deepStrictEqual(sorted(events), sorted(wholeEvents));
    const [r, g, t] = await Promise.all([reference.snapshot(), giver.snapshot(), taker.snapshot()]);
    assert.deepStrictEqual(
      g.kernel.actors.map((a) => a.state.id).filter((id) => moved.has(shardOf(id))),
      [],
      'the giver holds none of the moved actors',
    );
    const union = [...g.kernel.actors, ...t.kernel.actors].sort((a, b) => (a.state.id < b.state.id ? -1 : 1)).map((a) => a.state);
    assert.deepStrictEqual(
      union,
      r.kernel.actors.map((a) => a.state),
    );
  } finally {
    await Promise.all([reference.stop(), giver.stop(), taker.stop()]);
  }
});
