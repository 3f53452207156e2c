import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode } from '@msgpack/msgpack';
import type { OutputEvent, StateDelta } from '../../engine/inputs.js';
import { PROTOCOL_JSON, PROTOCOL_MSGPACK } from '../gateway/protocol.js';
import { StreamHub, type Subscriber } from '../gateway/stream-hub.js';

/** A subscriber whose socket buffer the test sets, as a slow reader's would grow. */
function reader(protocol: Subscriber['protocol'] = PROTOCOL_MSGPACK) {
  const got: Array<{ t: string; seq: number }> = [];
  const s = {
    protocol, lagging: new Set<string>(), bufferedBytes: 0, closed: false,
    buffered: () => s.bufferedBytes,
    send: (data: Uint8Array | string) => {
      got.push((typeof data === 'string' ? JSON.parse(data) : decode(data)) as { t: string; seq: number });
      return true;
    },
    closeSlow: () => {
      s.closed = true;
    },
    got,
  };
  return s;
}

const delta = (id: string, equity: number): StateDelta => ({
  assessmentId: id, status: 'active', phase: 'challenge', startingBalance: 50_000, balance: 50_000, equity, dailyFloor: 48_500, maxLossFloor: 47_000, positions: [], workingOrders: 0, input: 1,
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
  assert.deepEqual(fast.got.map((f) => [f.t, f.seq]), [['delta', 1], ['delta', 2], ['event', 3], ['delta', 4]]);
  assert.deepEqual(slow.got.map((f) => [f.t, f.seq]), [['delta', 1], ['event', 3]], 'deltas skipped, the fill delivered');
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
  assert.deepEqual(watch, [[['a'], true], [['a'], false]]);
});
