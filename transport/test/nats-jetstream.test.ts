import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Decoder, encode } from '@msgpack/msgpack';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { DeliverPolicy, jetstream, jetstreamManager, type JetStreamClient, type JetStreamManager, type PubAck } from '@nats-io/jetstream';
import { DEFAULT_INSTRUMENTS } from '../../actors/index.js';
import type { OutputEvent } from '../../engine/index.js';
import { serviceGate } from '../../engine/testing/index.js';
import {
  DOMAIN_EVENT_SUBJECTS,
  InvalidMarketInputError,
  JetStreamEventPublisher,
  JetStreamTickSource,
  TickPublisher,
  decodeToken,
  domainEventSubjects,
  encodeToken,
  ensureEventStream,
  ensureMarketStream,
  eventSubject,
  parseMarketSubject,
  resolutionSubject,
  tickSubject,
  withNamespace,
  type MalformedMessage,
  type MarketInput,
} from '../nats/index.js';
import { until } from '../../engine/testing/index.js';

describe('NATS subject scheme', () => {
  test('the subject mapping round-trips symbols like PM:FED-DEC-CUT:YES and BTC-USD', () => {
    assert.equal(tickSubject('coinbase', 'BTC-USD'), 'ticks.coinbase.BTC-USD');
    assert.equal(tickSubject('polymarket', 'PM:FED-DEC-CUT:YES'), 'ticks.polymarket.PM_FED-DEC-CUT_YES');
    assert.equal(resolutionSubject('polymarket', 'PM:FED-DEC-CUT'), 'resolutions.polymarket.PM_FED-DEC-CUT');
    const awkward = ['a.b', 'x*y', 'gt>', 'with space', 'under_score', 'tilde~', 'ü€', 'A:B_C~D.E'];
    for (const symbol of [...DEFAULT_INSTRUMENTS.map((i) => i.symbol), ...awkward]) {
      const token = encodeToken(symbol);
      assert.match(token, /^[A-Za-z0-9_~-]+$/, `token of ${symbol} is a single plain subject token`);
      assert.equal(decodeToken(token), symbol);
      assert.deepEqual(parseMarketSubject(tickSubject('venue.x', symbol)), { kind: 'tick', venue: 'venue.x', symbol });
    }
    assert.deepEqual(parseMarketSubject(resolutionSubject('kalshi', 'KX:BTC-100K-DEC', 'ns.a'), 'ns.a'), {
      kind: 'resolution',
      venue: 'kalshi',
      market: 'KX:BTC-100K-DEC',
    });
    assert.equal(parseMarketSubject('orders.coinbase.BTC-USD'), undefined);
    assert.equal(parseMarketSubject('ticks.coinbase.bad~ZZ'), undefined);
    assert.throws(() => encodeToken(''), RangeError);
  });

  test('engine event types map to their domain subjects and unpublished events to undefined', () => {
    assert.equal(eventSubject('order.accepted'), 'trading.order-placed');
    assert.equal(eventSubject('order.filled'), 'trading.order-filled');
    assert.equal(eventSubject('position.opened'), 'trading.position-opened');
    assert.equal(eventSubject('position.closed'), 'trading.position-closed');
    assert.equal(eventSubject('assessment.phase-passed'), 'assessment.completed');
    assert.equal(eventSubject('assessment.expired'), 'assessment.failed');
    assert.equal(eventSubject('rules.violation-detected'), 'rules.violation-detected');
    for (const t of [
      'created',
      'started',
      'day-started',
      'paused',
      'resumed',
      'abandoned',
      'passed',
      'failed',
      'trading-locked',
      'pass-blocked',
    ])
      assert.equal(eventSubject(`assessment.${t}`), `assessment.${t}`);
    for (const t of ['rejected', 'cancelled', 'expired']) assert.equal(eventSubject(`order.${t}`), `trading.order-${t}`);
    assert.equal(eventSubject('position.settled'), 'trading.position-settled');
    for (const t of [
      'order.modified',
      'order.triggered',
      'command.ignored',
      'position.changed',
      'assessment.trading-unlocked',
      'engine.input-rejected',
      'actor.quarantined',
      'toString',
      '__proto__',
    ])
      assert.equal(eventSubject(t), undefined);
    // 24 domain subjects: the 20 the engine's published event types map to, plus 4 that carry no engine
    // event: the purchase flow's two payment subjects (transport/payments), the Monte Carlo service's and the report service's.
    const engineTypes = [
      'order.accepted',
      'order.filled',
      'order.rejected',
      'order.cancelled',
      'order.expired',
      'position.opened',
      'position.closed',
      'position.settled',
      'rules.violation-detected',
      'assessment.phase-passed',
      'assessment.expired',
      ...['created', 'started', 'day-started', 'paused', 'resumed', 'abandoned', 'passed', 'failed', 'trading-locked', 'pass-blocked'].map(
        (t) => `assessment.${t}`,
      ),
    ];
    const engineSubjects = new Set(engineTypes.map((t) => eventSubject(t)));
    const notEngine = ['payment.purchase-completed', 'payment.purchase-failed', 'montecarlo.simulation-completed', 'report.ready'];
    assert.equal(engineSubjects.size, 20);
    assert.deepEqual([...DOMAIN_EVENT_SUBJECTS].sort(), [...engineSubjects, ...notEngine].sort());
    assert.equal(DOMAIN_EVENT_SUBJECTS.length, engineSubjects.size + notEngine.length);
    // The events stream's wildcards cover every domain subject, with or without a namespace.
    for (const namespace of ['', 'ns.eu']) {
      const wildcards = domainEventSubjects(namespace).map((w) => w.slice(0, -1));
      for (const subject of DOMAIN_EVENT_SUBJECTS)
        assert.ok(
          wildcards.some((w) => withNamespace(subject, namespace).startsWith(w)),
          `${subject} is captured under "${namespace}"`,
        );
    }
  });
});

const skip = await serviceGate('nats', '127.0.0.1', 4222);

describe('NATS JetStream transport', { skip }, () => {
  let nc: NatsConnection;
  let js: JetStreamClient;
  let jsm: JetStreamManager;
  const streams: string[] = [];

  /** A unique stream name and subject namespace for one test. */
  const scope = (label: string) => {
    const suffix = randomBytes(4).toString('hex');
    const name = `T_${label.toUpperCase()}_${suffix}`;
    streams.push(name);
    return { name, namespace: `test-${label}-${suffix}` };
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

  /** Reads `count` inputs from a source, then stops it. */
  const take = async (source: JetStreamTickSource, count: number, timeoutMs = 5_000): Promise<MarketInput[]> => {
    const got: MarketInput[] = [];
    const timer = setTimeout(() => void source.stop(), timeoutMs);
    try {
      for await (const input of source) {
        got.push(input);
        if (got.length >= count) break;
      }
    } finally {
      clearTimeout(timer);
      await source.stop();
    }
    return got;
  };

  const quote = (i: number, symbol = 'BTC-USD') => ({
    venue: 'coinbase',
    symbol,
    ts: 1_700_000_000_000 + i,
    bid: 100 + i,
    ask: 101 + i,
    bidSize: 2,
    venueSeq: i,
  });

  test('ensureMarketStream creates the stream once and is idempotent', async () => {
    const { name, namespace } = scope('ensure');
    const subjects = [`${namespace}.ticks.>`, `${namespace}.resolutions.>`];
    const a = await ensureMarketStream(jsm, { name, subjects, storage: 'memory', duplicateWindowMs: 60_000 });
    const b = await ensureMarketStream(jsm, { name, subjects, storage: 'memory', duplicateWindowMs: 60_000 });
    assert.equal(a.config.name, name);
    assert.deepEqual(b.config.subjects, subjects);
    assert.equal(b.config.duplicate_window, 60_000 * 1_000_000);
    const c = await ensureMarketStream(jsm, { name, subjects, storage: 'memory', duplicateWindowMs: 30_000, maxAge: 3_600_000 });
    assert.equal(c.config.duplicate_window, 30_000 * 1_000_000);
    assert.equal(c.config.max_age, 3_600_000 * 1_000_000);
    await assert.rejects(ensureMarketStream(jsm, { name, subjects, storage: 'file' }), /storage/);
  });

  test('a republished tick with the same msg id is deduplicated by the stream', async () => {
    const { name, namespace } = scope('dedupe');
    await ensureMarketStream(jsm, { name, subjects: [`${namespace}.>`], storage: 'memory' });
    const dupes: string[] = [];
    const publisher = new TickPublisher(js, { namespace, onDuplicate: (id) => dupes.push(id) });
    const first = await publisher.publishTick(quote(1));
    assert.equal(first.duplicate, false);
    // A restarted ingestor republishes what it already sent, then continues.
    const restarted = new TickPublisher(js, { namespace, onDuplicate: (id) => dupes.push(id) });
    const again = await restarted.publishTick(quote(1));
    assert.equal(again.duplicate, true);
    assert.equal(again.seq, first.seq);
    const next = await restarted.publishTick(quote(2));
    assert.equal(next.duplicate, false);
    // Without a venue seq the exchange timestamp identifies the tick.
    const { venueSeq: _v, ...noSeq } = quote(3);
    await restarted.publishTick(noSeq);
    assert.equal((await restarted.publishTick(noSeq)).duplicate, true);
    assert.deepEqual(dupes, ['coinbase:BTC-USD:1', `coinbase:BTC-USD:${noSeq.ts}`]);
    assert.equal(restarted.duplicates, 2);
    assert.equal(restarted.published, 2);
    assert.equal((await jsm.streams.info(name)).state.messages, 3);
  });

  test('the consumer yields ticks with the stream sequence as seq and resumes from a start sequence after a restart without loss or repeat', async () => {
    const { name, namespace } = scope('consume');
    await ensureMarketStream(jsm, { name, subjects: [`${namespace}.ticks.>`, `${namespace}.resolutions.>`], storage: 'memory' });
    const publisher = new TickPublisher(js, { namespace });
    const acks: PubAck[] = [];
    for (let i = 1; i <= 6; i++) acks.push(await publisher.publishTick(quote(i, i % 2 === 0 ? 'PM:FED-DEC-CUT:YES' : 'BTC-USD')));
    acks.push(await publisher.publishResolution({ venue: 'polymarket', market: 'PM:FED-DEC-CUT', outcome: 'YES', ts: 1_700_000_001_000 }));

    const first = new JetStreamTickSource(js, { stream: name, namespace });
    const head = await take(first, 3);
    assert.deepEqual(
      head.map((t) => t.seq),
      acks.slice(0, 3).map((a) => a.seq),
    );
    assert.deepEqual(head[0], {
      type: 'tick',
      seq: acks[0]!.seq,
      ts: 1_700_000_000_001,
      symbol: 'BTC-USD',
      bid: 101,
      ask: 102,
      bidSize: 2,
    });
    assert.equal(head[1]!.type === 'tick' && head[1]!.symbol, 'PM:FED-DEC-CUT:YES');
    assert.equal(first.nextSeq, acks[2]!.seq + 1);

    // Restart: the engine recovered through seq 3 and resumes from there while more ticks arrive.
    const resumed = new JetStreamTickSource(js, { stream: name, namespace, startSeq: first.nextSeq });
    const reading = take(resumed, 5);
    await until(() => resumed.nextSeq > acks[6]!.seq, { what: 'the resumed source to read what the stream holds' });
    acks.push(await publisher.publishTick(quote(7)));
    const tail = await reading;
    assert.deepEqual(
      tail.map((t) => t.seq),
      acks.slice(3).map((a) => a.seq),
    );
    assert.deepEqual(
      tail.map((t) => t.type),
      ['tick', 'tick', 'tick', 'resolution', 'tick'],
    );
    assert.deepEqual(tail[3], { type: 'resolution', seq: acks[6]!.seq, ts: 1_700_000_001_000, market: 'PM:FED-DEC-CUT', outcome: 'YES' });
    assert.deepEqual(
      [...head, ...tail].map((t) => t.seq),
      [1, 2, 3, 4, 5, 6, 7, 8],
    );
    assert.equal(resumed.malformed, 0);

    // Caught up: stop() ends a pending iteration cleanly, without an error.
    const idle = new JetStreamTickSource(js, { stream: name, namespace, startSeq: resumed.nextSeq });
    const ended = (async () => {
      const got: MarketInput[] = [];
      for await (const input of idle) got.push(input);
      return got;
    })();
    await new Promise((r) => setTimeout(r, 200));
    await idle.stop();
    assert.deepEqual(await ended, []);
    assert.equal(idle.nextSeq, 9);
  });

  test('batches() yields every input in stream order, reopens past a full buffer without loss or repeat, and ends on stop()', async () => {
    const { name, namespace } = scope('batches');
    await ensureMarketStream(jsm, { name, subjects: [`${namespace}.ticks.>`], storage: 'memory' });
    const publisher = new TickPublisher(js, { namespace });
    const n = 2_000;
    for (let i = 1; i <= n; i++) void publisher.publishTick(quote(i));
    await nc.flush();
    const deadline = Date.now() + 10_000;
    while ((await jsm.streams.info(name)).state.messages < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    // A buffer of 64 inputs while the reader is slow: the consumer must close and reopen many times.
    const source = new JetStreamTickSource(js, { stream: name, namespace, pullBatch: 256 });
    const seqs: number[] = [];
    let largest = 0;
    const timer = setTimeout(() => void source.stop(), 15_000);
    for await (const batch of source.batches({ maxBuffered: 64 })) {
      largest = Math.max(largest, batch.length);
      for (const t of batch) seqs.push(t.seq);
      if (seqs.length >= n) break;
      await new Promise((r) => setTimeout(r, 1));
    }
    clearTimeout(timer);
    assert.deepEqual(
      seqs,
      Array.from({ length: n }, (_, i) => i + 1),
    );
    assert.ok(largest <= 64, `a batch of ${largest} inputs exceeds the buffer`);
    assert.equal(source.nextSeq, n + 1);
    await assert.rejects(source.batches().next(), /only once/);

    const idle = new JetStreamTickSource(js, { stream: name, namespace, startSeq: n + 1 });
    const ended = (async () => {
      let got = 0;
      for await (const b of idle.batches()) got += b.length;
      return got;
    })();
    await new Promise((r) => setTimeout(r, 200));
    await idle.stop();
    assert.equal(await ended, 0);
  });

  test('malformed messages are reported and skipped', async () => {
    const { name, namespace } = scope('malformed');
    await ensureMarketStream(jsm, { name, subjects: [`${namespace}.>`], storage: 'memory' });
    const publisher = new TickPublisher(js, { namespace });
    const raw = (subject: string, data: Uint8Array) => js.publish(`${namespace}.${subject}`, data);
    await publisher.publishTick(quote(1)); // 1 ok
    await raw('ticks.coinbase.BTC-USD', new Uint8Array([0xc1, 0xff, 0x00])); // 2 bad msgpack
    await raw('ticks.coinbase.BTC-USD', encode({ symbol: 'BTC-USD', ts: 1, ask: 2 })); // 3 no bid
    await publisher.publishTick(quote(4, 'DOGE-USD')); // 4 unknown symbol
    await raw('ticks.coinbase.BTC-USD', encode({ symbol: 'ETH-USD', ts: 1, bid: 1, ask: 2 })); // 5 subject mismatch
    await raw('ticks.coinbase.BTC-USD', encode([1, 2, 3])); // 6 not a map
    await raw('resolutions.kalshi.KX_BTC-100K-DEC', encode({ market: 'KX:BTC-100K-DEC', ts: 5 })); // 7 no outcome
    await raw('ticks.coinbase', encode({ symbol: 'BTC-USD', ts: 1, bid: 1, ask: 2 })); // 8 bad subject
    await publisher.publishTick(quote(9, 'ETH-USD')); // 9 ok

    const reports: MalformedMessage[] = [];
    let observerCalls = 0;
    const source = new JetStreamTickSource(js, {
      stream: name,
      namespace,
      symbols: DEFAULT_INSTRUMENTS.map((i) => i.symbol),
      onMalformed: (m) => {
        reports.push(m);
        if (++observerCalls === 1) throw new Error('observer bug must not stop the loop');
      },
    });
    const got = await take(source, 2);
    assert.deepEqual(
      got.map((t) => [t.seq, t.type === 'tick' ? t.symbol : t.type === 'resolution' ? t.market : 'clock']),
      [
        [1, 'BTC-USD'],
        [9, 'ETH-USD'],
      ],
    );
    assert.equal(source.malformed, 7);
    assert.deepEqual(
      reports.map((r) => r.seq),
      [2, 3, 4, 5, 6, 7, 8],
    );
    const reasons = reports.map((r) => r.reason);
    assert.match(reasons[0]!, /^bad msgpack/);
    assert.match(reasons[1]!, /field "bid"/);
    assert.match(reasons[2]!, /unknown symbol "DOGE-USD"/);
    assert.match(reasons[3]!, /does not match subject symbol/);
    assert.match(reasons[4]!, /not a msgpack map/);
    assert.match(reasons[5]!, /field "outcome"/);
    assert.match(reasons[6]!, /subject is not/);
    assert.equal(reports[0]!.subject, `${namespace}.ticks.coinbase.BTC-USD`);
  });

  test('ticks with quotes invalid for their instrument and resolutions of unknown outcomes are refused by reason and never yielded', async () => {
    const { name, namespace } = scope('invalid');
    await ensureMarketStream(jsm, { name, subjects: [`${namespace}.>`], storage: 'memory' });
    const raw = (subject: string, body: object) => js.publish(`${namespace}.${subject}`, encode(body));
    const yes = 'PM:FED-DEC-CUT:YES';
    const ts = 1_700_000_000_000;
    await raw(`ticks.polymarket.${encodeToken(yes)}`, { symbol: yes, ts, bid: 0.4, ask: 0.42 }); // 1 ok
    await raw(`ticks.polymarket.${encodeToken(yes)}`, { symbol: yes, ts, bid: 96, ask: 97 }); // 2 cents on a binary
    await raw('ticks.coinbase.BTC-USD', { symbol: 'BTC-USD', ts, bid: 101, ask: 100 }); // 3 crossed
    await raw('ticks.coinbase.BTC-USD', { symbol: 'BTC-USD', ts, bid: 0, ask: 100 }); // 4 zero bid on a linear
    await raw('ticks.coinbase.BTC-USD', { symbol: 'BTC-USD', ts, bid: 100, ask: 101, askSize: -3 }); // 5 negative size
    await raw('ticks.coinbase.BTC-USD', { symbol: 'BTC-USD', ts: ts + 0.25, bid: 100, ask: 101 }); // 6 fractional time
    await raw('ticks.coinbase.DOGE-USD', { symbol: 'DOGE-USD', ts, bid: 1, ask: 2 }); // 7 unknown symbol
    await raw(`resolutions.polymarket.${encodeToken('PM:FED-DEC-CUT')}`, { market: 'PM:FED-DEC-CUT', outcome: 'MAYBE', ts }); // 8
    await raw(`resolutions.polymarket.${encodeToken('PM:NOPE')}`, { market: 'PM:NOPE', outcome: 'YES', ts }); // 9
    await raw('clock.beat', { time: ts + 0.5 }); // 10 fractional clock
    await raw('ticks.coinbase.BTC-USD', { symbol: 'BTC-USD', ts, bid: 100, ask: 101 }); // 11 ok
    const reports: MalformedMessage[] = [];
    const source = new JetStreamTickSource(js, {
      stream: name,
      namespace,
      instruments: DEFAULT_INSTRUMENTS,
      onMalformed: (m) => reports.push(m),
    });
    const got = await take(source, 2);
    assert.deepEqual(
      got.map((t) => t.seq),
      [1, 11],
    );
    assert.deepEqual(
      reports.map((r) => [r.seq, r.kind]),
      [
        [2, 'price_out_of_range'],
        [3, 'crossed_quote'],
        [4, 'price_not_positive'],
        [5, 'invalid_size'],
        [6, 'invalid_timestamp'],
        [7, 'unknown_symbol'],
        [8, 'unknown_outcome'],
        [9, 'unknown_market'],
        [10, 'invalid_timestamp'],
      ],
    );
    assert.equal(reports[0]!.code, 'PRICE_OUT_OF_RANGE');
    assert.match(reports[0]!.reason, /bid 96 ask 97/);
    assert.equal(source.malformed, 9);
    // Without instruments the kind-independent checks still hold.
    const plain = new JetStreamTickSource(js, { stream: name, namespace, onMalformed: (m) => reports.push(m) });
    reports.length = 0;
    assert.deepEqual(
      (await take(plain, 7)).map((t) => t.seq),
      [1, 2, 4, 7, 8, 9, 11],
    );
    assert.deepEqual(
      reports.map((r) => [r.seq, r.kind]),
      [
        [3, 'crossed_quote'],
        [5, 'invalid_size'],
        [6, 'invalid_timestamp'],
        [10, 'invalid_timestamp'],
      ],
    );
  });

  test('the publisher refuses an invalid tick, resolution or clock beat before it reaches the stream, counted by reason', async () => {
    const { name, namespace } = scope('pubrefuse');
    await ensureMarketStream(jsm, { name, subjects: [`${namespace}.>`], storage: 'memory' });
    const publisher = new TickPublisher(js, { namespace, instruments: DEFAULT_INSTRUMENTS });
    const yes = 'PM:FED-DEC-CUT:YES';
    const ts = 1_700_000_000_000;
    const refused = async (p: Promise<unknown>, reason: string) => {
      await assert.rejects(
        p,
        (err: unknown) => err instanceof InvalidMarketInputError && err.code === 'INVALID_MARKET_INPUT' && err.reason === reason,
      );
    };
    await refused(publisher.publishTick({ venue: 'polymarket', symbol: yes, ts, bid: 96, ask: 97 }), 'PRICE_OUT_OF_RANGE');
    await refused(publisher.publishTick({ venue: 'coinbase', symbol: 'BTC-USD', ts, bid: 2, ask: 1 }), 'CROSSED_QUOTE');
    await refused(publisher.publishTick({ venue: 'coinbase', symbol: 'BTC-USD', ts, bid: Number.NaN, ask: 1 }), 'PRICE_NOT_FINITE');
    await refused(publisher.publishTick({ venue: 'coinbase', symbol: 'DOGE-USD', ts, bid: 1, ask: 2 }), 'UNKNOWN_SYMBOL');
    await refused(publisher.publishResolution({ venue: 'polymarket', market: 'PM:FED-DEC-CUT', outcome: 'MAYBE', ts }), 'UNKNOWN_OUTCOME');
    await refused(publisher.publishClock(Number.POSITIVE_INFINITY), 'INVALID_TIMESTAMP');
    await publisher.publishTick({ venue: 'polymarket', symbol: yes, ts, bid: 0.4, ask: 0.42 });
    assert.equal(publisher.published, 1);
    assert.deepEqual([...publisher.refused].sort(), [
      ['CROSSED_QUOTE', 1],
      ['INVALID_TIMESTAMP', 1],
      ['PRICE_NOT_FINITE', 1],
      ['PRICE_OUT_OF_RANGE', 1],
      ['UNKNOWN_OUTCOME', 1],
      ['UNKNOWN_SYMBOL', 1],
    ]);
    assert.equal((await jsm.streams.info(name)).state.messages, 1);
  });

  test('domain events land on their subjects with their payloads', async () => {
    const { name, namespace } = scope('events');
    await ensureEventStream(jsm, { name, subjects: [`${namespace}.>`], storage: 'memory' });
    const failures: unknown[] = [];
    const publisher = new JetStreamEventPublisher(js, { namespace, maxBatch: 2, onError: (f) => failures.push(f) });
    const at = 1_700_000_000_000;
    const events: OutputEvent[] = [
      {
        type: 'assessment.created',
        assessmentId: 'a1',
        at,
        traderId: 't1',
        tierId: 'tier-10k',
        tierVersion: 1,
        phase: 'challenge',
        balance: 10_000,
        input: 3,
        n: 0,
      },
      {
        type: 'assessment.started',
        assessmentId: 'a1',
        at,
        phase: 'challenge',
        balance: 10_000,
        dailyFloor: 9_500,
        maxLossFloor: 9_000,
        input: 4,
        n: 0,
      },
      { type: 'position.changed', assessmentId: 'a1', at, symbol: 'BTC-USD', qty: 1, avgEntry: 100, input: 5, n: 0 },
      { type: 'position.opened', assessmentId: 'a1', at, symbol: 'BTC-USD', qty: 0.5, avgEntry: 101.5, input: 5, n: 1 },
      { type: 'engine.input-rejected', assessmentId: 'zz', at, reason: 'UNKNOWN_ASSESSMENT', detail: 'no such assessment', input: 6, n: 0 },
      { type: 'position.closed', assessmentId: 'a1', at: at + 1, symbol: 'BTC-USD', realizedPnl: 12.25, exitPrice: 126, input: 9, n: 2 },
      {
        type: 'assessment.expired',
        assessmentId: 'a1',
        at: at + 2,
        ruleId: 'phase-time-limit',
        balance: 10_012.25,
        expiry: {
          ruleId: 'phase-time-limit',
          deadline: at + 2,
          days: 30,
          lastActivityAt: at,
          phaseStartedAt: at - 30 * 86_400_000 + 2,
          detail: 'phase not passed within 30 days',
        },
        input: 10,
        n: 0,
      },
    ];
    publisher.onEvents(events.slice(0, 4), 0);
    publisher.onEvents(events.slice(4), 1);
    await publisher.flush();
    assert.deepEqual(failures, []);
    assert.equal(publisher.published, 5);
    assert.equal(publisher.skipped, 2);

    // Replaying the same outputs (engine recovery) stores nothing new.
    publisher.onEvents(events, 0);
    await publisher.flush();
    assert.equal(publisher.duplicates, 5);
    assert.equal((await jsm.streams.info(name)).state.messages, 5);

    const consumer = await js.consumers.get(name, { deliver_policy: DeliverPolicy.All });
    const decoder = new Decoder();
    const stored: { subject: string; payload: unknown }[] = [];
    const messages = await consumer.consume();
    for await (const m of messages) {
      stored.push({ subject: m.subject, payload: decoder.decode(m.data) });
      if (stored.length === 5) break;
    }
    await messages.close();
    const published = events.filter((e) => eventSubject(e.type) !== undefined);
    assert.deepEqual(
      stored.map((s) => s.subject),
      ['assessment.created', 'assessment.started', 'trading.position-opened', 'trading.position-closed', 'assessment.failed'].map(
        (s) => `${namespace}.${s}`,
      ),
    );
    assert.deepEqual(
      stored.map((s) => s.payload),
      published,
    );
  });

  test('an events stream on the default subjects captures every domain subject, payment and Monte Carlo ones included, and nothing else', async () => {
    const { name, namespace } = scope('domain');
    const info = await ensureEventStream(jsm, { name, subjects: domainEventSubjects(namespace), storage: 'memory' });
    assert.deepEqual(info.config.subjects, domainEventSubjects(namespace));
    for (const subject of DOMAIN_EVENT_SUBJECTS) {
      const ack = await js.publish(withNamespace(subject, namespace), encode({ subject }));
      assert.equal(ack.stream, name, `${subject} lands in the events stream`);
    }
    // Core publishes outside the domain subjects: no stream takes them.
    for (const other of ['ticks.coinbase.BTC-USD', 'engine.g1.intake', 'payments.purchase-completed'])
      nc.publish(withNamespace(other, namespace), encode({}));
    await nc.flush();
    assert.equal((await jsm.streams.info(name)).state.messages, DOMAIN_EVENT_SUBJECTS.length);
  });

  test('publish failures are reported through the callback, not thrown into the engine', async () => {
    const { namespace } = scope('nostream');
    const failures: { msgId: string; error: Error }[] = [];
    const publisher = new JetStreamEventPublisher(js, { namespace, timeoutMs: 1_000, onError: (f) => failures.push(f) });
    publisher.onEvents([{ type: 'assessment.paused', assessmentId: 'a9', at: 1, input: 1, n: 0 }], 0);
    await publisher.flush();
    assert.equal(publisher.failed, 1);
    assert.equal(failures[0]!.msgId, 'a9:1:0');
    assert.ok(failures[0]!.error instanceof Error);
  });
});
