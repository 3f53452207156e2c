import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { DEFAULT_INSTRUMENTS } from '../../../actors/index.js';
import type { EngineInput, SequencedInput } from '../../inputs.js';
import type { JournalInput, JournalRecord, MarketInput } from '../../node/ports.js';
import { ShardKernel } from '../../shard-kernel.js';
import { shardOf } from '../../shard.js';
import { tapeArb } from '../../test/tape-arbitrary.js';
import type { ShardCheckpoint } from '../cluster-ports.js';
import { ShardCatchUp } from '../shard-catch-up.js';

const isMarket = (input: EngineInput): boolean => input.type !== 'create' && input.type !== 'command';

/** A tape as a node's logs hold it: each market input at the next market seq (its own `seq`), each create or command at the seq before it. */
function coordinated(tape: readonly EngineInput[]): Array<SequencedInput & { readonly at: number }> {
  let seq = 0;
  return tape.map((input, i) => {
    if (!isMarket(input)) return { i, input, at: seq };
    seq++;
    return { i, input: { ...input, seq } as EngineInput, at: seq };
  });
}

const run = (inputs: readonly SequencedInput[]): ShardKernel => {
  const k = new ShardKernel({ instruments: DEFAULT_INSTRUMENTS });
  for (const si of inputs) k.apply(si);
  return k;
};

/** The checkpoint of `shard` a live owner would write after `inputs[0, cut)`. */
function checkpointOf(inputs: ReadonlyArray<SequencedInput & { readonly at: number }>, cut: number, shard: number): ShardCheckpoint {
  const { actors, ...meta } = run(inputs.slice(0, cut)).snapshot();
  const last = inputs
    .slice(0, cut)
    .findLast((si) => !isMarket(si.input) && shardOf((si.input as { assessmentId: string }).assessmentId) === shard);
  return {
    shard,
    version: 1,
    tickSeq: inputs[cut - 1]!.at,
    journalPos: last?.i ?? 0,
    meta: structuredClone(meta),
    metaText: JSON.stringify(meta),
    actors: structuredClone(actors.filter((a) => shardOf(a.state.id) === shard)),
  };
}

test('shards caught up from checkpoints at different market seqs, in one kernel, end in the states of one uninterrupted kernel', () => {
  fc.assert(
    fc.property(tapeArb(), fc.array(fc.nat(), { minLength: 5, maxLength: 5 }), (tape, picks) => {
      const inputs = coordinated(tape);
      const whole = run(inputs);
      // Every checkpoint is taken after the creates, so each holds its shard's actors.
      const prefix = inputs.findLastIndex((si) => si.input.type === 'create') + 1;
      const ids = whole.assessmentIds();
      const shards = [...new Set(ids.map((id) => shardOf(id)))];
      const journal: JournalRecord[] = inputs
        .slice(prefix)
        .filter((si) => !isMarket(si.input))
        .map((si) => ({ position: si.i, input: si.input as JournalInput, clientOrderId: null, tickWatermark: si.at }));
      const market = inputs.slice(prefix).flatMap((si) => (isMarket(si.input) ? [si.input as MarketInput] : []));
      const live = inputs[inputs.length - 1]!.at;
      const parts = shards.map((v, k) => {
        const checkpoint = checkpointOf(inputs, prefix + (picks[k]! % (inputs.length - prefix + 1)), v);
        const entries = journal.filter(
          (e) => shardOf((e.input as { assessmentId: string }).assessmentId) === v && e.position > checkpoint.journalPos,
        );
        return { shard: v, checkpoint, entries };
      });
      const c = new ShardCatchUp(parts, live, { tiers: [], instruments: DEFAULT_INSTRUMENTS, onEvents: () => undefined });
      if (c.needsHistory) c.catchUpFrom(market.filter((m) => m.seq > c.from));
      assert.ok(c.done, 'caught up');
      assert.equal(c.stats.kernels, 1, 'every checkpoint joins the one kernel');
      const byId = new Map(whole.snapshot().actors.map((a) => [a.state.id, a]));
      const caught = c.actors();
      assert.equal(caught.length, ids.length);
      for (const a of caught) assert.deepStrictEqual(a, byId.get(a.state.id), a.state.id);
      for (const v of shards) {
        const last = journal.filter((e) => shardOf((e.input as { assessmentId: string }).assessmentId) === v).at(-1);
        assert.equal(c.journalPos(v), Math.max(last?.position ?? 0, parts.find((p) => p.shard === v)!.checkpoint.journalPos));
      }
    }),
    { numRuns: 40, seed: 20261207 },
  );
});
