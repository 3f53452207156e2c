import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { DEFAULT_INSTRUMENTS, type Instrument } from '../../actors/index.js';
import { Engine } from '../../engine/index.js';
import { serviceGate } from '../../engine/testing/index.js';
import {
  InvalidMarketInputError,
  JetStreamTickSource,
  TickPublisher,
  ensureMarketStream,
  instrumentSubject,
  parseMarketSubject,
  type MalformedMessage,
  type MarketInput,
} from '../nats/index.js';

const yes: Instrument = {
  symbol: 'PM:ELECTION:YES',
  kind: 'binary',
  venue: 'tape',
  minQty: 1,
  market: 'PM:ELECTION',
  outcome: 'YES',
  closesAt: 1_800_000_000_000,
};
const ts = 1_700_000_000_000;

test('instrument subjects parse back to their venue and symbol', () => {
  assert.equal(instrumentSubject('tape', yes.symbol), 'instruments.tape.PM_ELECTION_YES');
  assert.deepEqual(parseMarketSubject(instrumentSubject('tape', yes.symbol, 'ns'), 'ns'), {
    kind: 'instrument',
    venue: 'tape',
    symbol: yes.symbol,
  });
});

const skip = await serviceGate('nats', '127.0.0.1', 4222);

describe('instrument definitions on the market stream', { skip }, () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const streams: string[] = [];
  const scope = async () => {
    const suffix = randomBytes(4).toString('hex');
    const name = `T_INSTRUMENTS_${suffix}`;
    const namespace = `test-instruments-${suffix}`;
    streams.push(name);
    await ensureMarketStream(jsm, { name, subjects: [`${namespace}.>`], storage: 'memory' });
    return { name, namespace };
  };
  /** Reads until `count` inputs or the deadline, then stops the source. */
  const take = async (source: JetStreamTickSource, count: number, deadlineMs = 5_000): Promise<MarketInput[]> => {
    const got: MarketInput[] = [];
    const timer = setTimeout(() => void source.stop(), deadlineMs);
    try {
      for await (const input of source) if (got.push(input) >= count) break;
    } finally {
      clearTimeout(timer);
      await source.stop();
    }
    return got;
  };

  before(async () => {
    nc = await connect({ servers: '127.0.0.1:4222' });
    js = jetstream(nc);
    jsm = await jetstreamManager(nc);
  });
  after(async () => {
    for (const name of streams) await jsm.streams.delete(name).catch(() => undefined);
    await nc?.drain();
  });

  test('a node configured with the default instruments accepts the ticks of an instrument defined ahead of them on the stream', async () => {
    const { name, namespace } = await scope();
    const publisher = new TickPublisher(js, { namespace, instruments: DEFAULT_INSTRUMENTS });
    await assert.rejects(
      publisher.publishTick({ venue: 'tape', symbol: yes.symbol, ts, bid: 0.38, ask: 0.4 }),
      (e: unknown) => e instanceof InvalidMarketInputError && e.reason === 'UNKNOWN_SYMBOL',
    );
    await publisher.publishInstrument(yes); // 1
    await publisher.publishTick({ venue: 'tape', symbol: yes.symbol, ts, bid: 0.38, ask: 0.4 }); // 2
    const skipped: MalformedMessage[] = [];
    const source = new JetStreamTickSource(js, {
      stream: name,
      namespace,
      instruments: DEFAULT_INSTRUMENTS,
      onMalformed: (m) => skipped.push(m),
    });
    const got = await take(source, 2);
    assert.deepEqual(skipped, []);
    assert.deepEqual(
      got.map((m) => m.type),
      ['instrument', 'tick'],
    );
    // The engine learns it at the same point of the order: the tick is admitted, not refused.
    const engine = await Engine.start({ workers: 1, instruments: DEFAULT_INSTRUMENTS });
    try {
      for (const m of got) engine.submit(m, m.seq);
      await engine.barrier();
      assert.deepEqual([...engine.refused], []);
    } finally {
      await engine.stop();
    }
  });

  test('a reading that starts after the definition still knows the instrument', async () => {
    const { name, namespace } = await scope();
    const publisher = new TickPublisher(js, { namespace });
    await publisher.publishInstrument(yes); // 1
    await publisher.publishTick({ venue: 'tape', symbol: yes.symbol, ts, bid: 0.38, ask: 0.4 }); // 2
    await publisher.publishTick({ venue: 'tape', symbol: yes.symbol, ts: ts + 1, bid: 0.39, ask: 0.41 }); // 3
    const skipped: MalformedMessage[] = [];
    const source = new JetStreamTickSource(js, {
      stream: name,
      namespace,
      startSeq: 3,
      instruments: DEFAULT_INSTRUMENTS,
      onMalformed: (m) => skipped.push(m),
    });
    const got = await take(source, 1);
    assert.deepEqual(skipped, []);
    assert.deepEqual(
      got.map((m) => [m.seq, m.type]),
      [[3, 'tick']],
    );
  });

  test('a definition that does not parse or redefines a known symbol is refused with its code and its ticks stay unknown', async () => {
    const { name, namespace } = await scope();
    const raw = (symbol: string, body: object) => js.publish(instrumentSubject('tape', symbol, namespace), encode(body));
    await raw('X', { symbol: 'X', kind: 'option', venue: 'tape', minQty: 1 }); // 1 invalid kind
    await raw('BTC-USD', { symbol: 'BTC-USD', kind: 'binary', venue: 'tape', minQty: 1 }); // 2 conflicts with the default
    await raw('Y', { symbol: 'Z', kind: 'linear', venue: 'tape', minQty: 1 }); // 3 subject mismatch
    await js.publish(`${namespace}.ticks.tape.X`, encode({ symbol: 'X', ts, bid: 1, ask: 2 })); // 4 still unknown
    const publisher = new TickPublisher(js, { namespace, instruments: DEFAULT_INSTRUMENTS });
    await assert.rejects(
      publisher.publishInstrument({ ...DEFAULT_INSTRUMENTS[0]!, minQty: 5 }),
      (e: unknown) => e instanceof InvalidMarketInputError && e.reason === 'INSTRUMENT_CONFLICT',
    );
    await assert.rejects(
      publisher.publishInstrument({ symbol: '', kind: 'linear', venue: 'x', minQty: 1 }),
      (e: unknown) => e instanceof InvalidMarketInputError && e.reason === 'INVALID_INSTRUMENT',
    );
    const skipped: MalformedMessage[] = [];
    const source = new JetStreamTickSource(js, {
      stream: name,
      namespace,
      instruments: DEFAULT_INSTRUMENTS,
      onMalformed: (m) => skipped.push(m),
    });
    const timer = setTimeout(() => void source.stop(), 1_500);
    for await (const m of source) assert.fail(`nothing is yielded, got ${m.type}`);
    clearTimeout(timer);
    assert.deepEqual(
      skipped.map((m) => [m.seq, m.kind]),
      [
        [1, 'invalid_instrument'],
        [2, 'instrument_conflict'],
        [3, 'malformed'],
        [4, 'unknown_symbol'],
      ],
    );
  });
});
