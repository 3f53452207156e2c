import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode } from '@msgpack/msgpack';
import { DeltaEncoder, type OutputEvent, type StateDelta } from '../../engine/index.js';
import { PROTOCOL_JSON, PROTOCOL_MSGPACK } from '../protocol/protocol.js';
import { StreamHub, type Subscriber } from '../server/stream-hub.js';

/** A subscriber whose socket buffer the test sets, as a slow reader's would grow. */
function reader(protocol: Subscriber['protocol'] = PROTOCOL_MSGPACK) {
  const got: Array<{ t: string; seq: number }> = [];
  const s = {
    protocol,
    lagging: new Set<string>(),
    bufferedBytes: 0,
    closed: false,
    buffered: () => s.bufferedBytes,
    send: (data: Uint8Array | string) => {
      got.push((typeof data === 'string' ? JSON.parse(data) : decode(data)) as { t: string; seq: number });
      return true;
    },
    closeSlow: () => {
      s.closed = true;
    },
    lag: (assessmentId: string) => {
      s.lagging.add(assessmentId);
    },
    got,
  };
  return s;
}

const delta = (id: string, equity: number): StateDelta => ({
  assessmentId: id,
  status: 'active',
  phase: 'challenge',
  startingBalance: 50_000,
  balance: 50_000,
  equity,
  dailyFloor: 48_500,
  maxLossFloor: 47_000,
  positions: [],
  workingOrders: 0,
  input: 1,
  at: 0,
});
const fill = (id: string, input: number) => ({ type: 'order.filled', assessmentId: id, at: 0, input, n: 0 }) as unknown as OutputEvent;

test('a slow reader skips deltas (counted and marked for resync) but still gets every event, and past the hard limit it is closed', () => {
  const watched: string[] = [];
  const hub = new StreamHub({ epoch: 7, softLimitBytes: 1_000, hardLimitBytes: 10_000, watch: (ids, on) => on && watched.push(...ids) });
  const fast = reader();
  const slow = reader();
  hub.subscribe('a', fast);
  hub.subscribe('a', slow);
  assert.deepEqual(watched, ['a'], 'the engine is asked for deltas once per stream');
  hub.onDeltas([delta('a', 1)]);
  slow.bufferedBytes = 5_000; // over the soft limit
  hub.onDeltas([delta('a', 2)]);
  hub.onEvents([fill('a', 3)]);
  hub.onDeltas([delta('a', 4)]);
  assert.deepEqual(
    fast.got.map((f) => [f.t, f.seq]),
    [
      ['delta', 1],
      ['delta', 2],
      ['event', 3],
      ['delta', 4],
    ],
  );
  assert.deepEqual(
    slow.got.map((f) => [f.t, f.seq]),
    [
      ['delta', 1],
      ['event', 3],
    ],
    'deltas skipped, the fill delivered',
  );
  assert.deepEqual([...slow.lagging], ['a']);
  assert.equal(hub.counters.deltasDropped, 2);
  slow.bufferedBytes = 20_000; // over the hard limit
  hub.onEvents([fill('a', 5)]);
  assert.equal(slow.closed, true, 'an event it cannot take closes it instead of being lost');
  assert.equal(hub.counters.slowClosed, 1);
});

test('resume replays exactly the frames after a seq from the ring, and gives up when the ring or the epoch moved on', () => {
  const hub = new StreamHub({ epoch: 3, ringSize: 4, watch: () => {} });
  const s = reader(PROTOCOL_JSON);
  hub.subscribe('a', s);
  for (let k = 1; k <= 6; k++) hub.onDeltas([delta('a', k)]);
  const replay = (from: number) => hub.missed('a', 3, from, PROTOCOL_JSON)?.map((f) => JSON.parse(f as string).seq);
  assert.deepEqual(replay(4), [5, 6]);
  assert.deepEqual(replay(2), [3, 4, 5, 6]);
  assert.equal(replay(1), undefined, 'seq 2 has left the ring: a snapshot instead');
  assert.deepEqual(replay(6), [], 'up to date');
  assert.equal(hub.missed('a', 2, 4, PROTOCOL_JSON), undefined, 'another epoch: a snapshot instead');
  assert.equal(hub.missed('a', 3, 9, PROTOCOL_JSON), undefined, 'a seq from the future is not trusted');
});

test('a stream outlives its last subscriber for the linger time, then stops the engine deltas', () => {
  let now = 0;
  const watch: Array<[string[], boolean]> = [];
  const hub = new StreamHub({ epoch: 1, lingerMs: 1_000, clock: () => now, watch: (ids, on) => watch.push([[...ids], on]) });
  const s = reader();
  hub.subscribe('a', s);
  hub.unsubscribe('a', s);
  now = 500;
  hub.sweep();
  assert.equal(hub.streams, 1);
  hub.onDeltas([delta('a', 1)]);
  assert.equal(hub.seqOf('a'), 1, 'frames keep numbering while nobody listens, for a resume');
  now = 1_600;
  hub.sweep();
  assert.equal(hub.streams, 0);
  assert.deepEqual(watch, [
    [['a'], true],
    [['a'], false],
  ]);
});

test('deltas encoded by the engine go out byte for byte as the hub would encode them, to msgpack and JSON subscribers alike, and resume from the ring', () => {
  const sent = (protocol: Subscriber['protocol']) => {
    const out: Array<Uint8Array | string> = [];
    const s: Subscriber = {
      protocol,
      buffered: () => 0,
      closeSlow: () => {},
      lag: () => {},
      send: (d) => {
        out.push(typeof d === 'string' ? d : d.slice());
        return true;
      },
    };
    return { s, out };
  };
  const plain = new StreamHub({ epoch: 300, watch: () => {} });
  const encoded = new StreamHub({ epoch: 300, watch: () => {} });
  const [pb, pj, eb, ej] = [sent(PROTOCOL_MSGPACK), sent(PROTOCOL_JSON), sent(PROTOCOL_MSGPACK), sent(PROTOCOL_JSON)];
  const long = `a-${'x'.repeat(40)}`; // past a fixstr
  for (const id of ['a', long]) {
    plain.subscribe(id, pb.s);
    plain.subscribe(id, pj.s);
    encoded.subscribe(id, eb.s);
    encoded.subscribe(id, ej.s);
  }
  const deltaEncoder = new DeltaEncoder();
  for (let k = 1; k <= 200; k++) {
    const batch = [
      delta('a', 50_000 + k / 7),
      { ...delta(long, -k), positions: [{ symbol: 'BTC-USD', qty: 0.1, avgEntry: 60_000.5, mark: 60_001 + k, unrealizedPnl: k / 3 }] },
      delta('unwatched', 1),
    ];
    plain.onDeltas(batch);
    encoded.onEncodedDeltas(deltaEncoder.encode(batch));
  }
  assert.equal(eb.out.length, 400);
  assert.deepEqual(eb.out, pb.out, 'the same msgpack frames');
  assert.deepEqual(ej.out, pj.out, 'the same JSON frames');
  assert.deepEqual(encoded.missed(long, 300, 190, PROTOCOL_MSGPACK), plain.missed(long, 300, 190, PROTOCOL_MSGPACK));
  assert.deepEqual(encoded.missed('a', 300, 195, PROTOCOL_JSON), plain.missed('a', 300, 195, PROTOCOL_JSON));
  assert.deepEqual(decode(eb.out[399] as Uint8Array), {
    t: 'delta',
    assessmentId: long,
    epoch: 300,
    seq: 200,
    delta: decode(
      deltaEncoder.encode([
        { ...delta(long, -200), positions: [{ symbol: 'BTC-USD', qty: 0.1, avgEntry: 60_000.5, mark: 60_201, unrealizedPnl: 200 / 3 }] },
      ]).bytes,
    ),
  });
});

test('the resume ring is bounded by bytes as well as by count', () => {
  const hub = new StreamHub({ epoch: 1, ringSize: 512, ringBytes: 4_096, watch: () => {} });
  const s = reader();
  hub.subscribe('a', s);
  for (let k = 1; k <= 100; k++) hub.onDeltas([delta('a', k)]);
  const kept = hub.missed('a', 1, 0, PROTOCOL_MSGPACK);
  assert.equal(kept, undefined, '100 frames of ~200 B do not fit in 4 KiB');
  const tail = hub.missed('a', 1, 90, PROTOCOL_MSGPACK)!;
  assert.deepEqual(
    tail.map((f) => (decode(f as Uint8Array) as { seq: number }).seq),
    [91, 92, 93, 94, 95, 96, 97, 98, 99, 100],
  );
});

test("frames around engine-encoded deltas stay byte for byte the hub's own at every width of seq", () => {
  const last: Array<Uint8Array | undefined> = [undefined, undefined];
  const hubs = [0, 1].map((k) => {
    const hub = new StreamHub({ epoch: 70_000, ringBytes: 1_024, watch: () => {} });
    hub.subscribe('a', {
      protocol: PROTOCOL_MSGPACK,
      buffered: () => 0,
      closeSlow: () => {},
      lag: () => {},
      send: (d) => {
        last[k] = d as Uint8Array;
        return true;
      },
    });
    return hub;
  });
  const deltaEncoder = new DeltaEncoder();
  for (let seq = 1; seq <= 65_600; seq++) {
    const d = delta('a', seq);
    hubs[0]!.onDeltas([d]);
    hubs[1]!.onEncodedDeltas(deltaEncoder.encode([d]));
    if (seq < 300 || seq > 65_500) assert.deepEqual(last[1], last[0], `seq ${seq}`);
  }
});

test('a live estimate reaches the subscribers of its assessment unnumbered, in each protocol, and skips a reader that is behind', () => {
  const hub = new StreamHub({ epoch: 1, softLimitBytes: 1_000, watch: () => {} });
  const bin = reader();
  const text = reader(PROTOCOL_JSON);
  const behind = reader();
  const other = reader();
  hub.subscribe('a', bin);
  hub.subscribe('a', text);
  hub.subscribe('a', behind);
  hub.subscribe('b', other);
  hub.onEvents([fill('a', 1)]);
  behind.bufferedBytes = 5_000;
  assert.deepEqual(hub.watched().sort(), ['a', 'b']);
  const estimate = {
    t: 'estimate' as const,
    assessmentId: 'a',
    at: 5,
    paths: 4096,
    pass: { p: 0.6, lo: 0.58, hi: 0.62 },
    breakdown: { passed: 0.6 },
    medianDaysToPass: 9,
  };
  assert.equal(hub.broadcast('a', estimate), 2);
  assert.deepEqual(bin.got.at(-1), estimate);
  assert.deepEqual(text.got.at(-1), estimate);
  assert.equal(behind.got.length, 1, 'only the fill');
  assert.equal(other.got.length, 0);
  // Not numbered: the stream's next frame follows the fill.
  assert.equal(hub.seqOf('a'), 1);
  assert.equal(hub.broadcast('nobody', estimate), 0);
  hub.unsubscribe('b', other);
  assert.deepEqual(hub.watched(), ['a']);
});
