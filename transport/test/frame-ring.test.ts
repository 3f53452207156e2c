import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FrameRing } from '../server/frame-ring.js';

const frame = (seq: number, len: number) => Uint8Array.from({ length: len }, (_, k) => (seq * 31 + k) & 0xff);

test('the ring replays exactly the frames after a seq, and nothing once the seq has left it', () => {
  const ring = new FrameRing(1_000, 4);
  for (let seq = 1; seq <= 6; seq++) ring.push(seq, frame(seq, 10));
  assert.deepEqual(ring.after(4), [frame(5, 10), frame(6, 10)]);
  assert.deepEqual(
    ring.after(2),
    [3, 4, 5, 6].map((s) => frame(s, 10)),
  );
  assert.equal(ring.after(1), undefined, 'only 4 frames are kept');
  assert.deepEqual(ring.after(6), []);
});

test('the ring is bounded by bytes: old frames go to make room, and a frame over the bound empties it', () => {
  const ring = new FrameRing(100, 512);
  for (let seq = 1; seq <= 20; seq++) ring.push(seq, frame(seq, 30));
  assert.ok(ring.capacity <= 100);
  assert.ok(ring.size >= 2 && ring.size <= 3, `holds ${ring.size} frames of 30 B in 100 B`);
  assert.deepEqual(ring.after(18), [frame(19, 30), frame(20, 30)]);
  assert.equal(ring.push(21, frame(21, 101)), false, 'too big to keep');
  assert.equal(ring.after(20), undefined, 'frame 21 cannot be replayed, so a resume from 20 takes a snapshot');
  ring.push(22, frame(22, 10));
  assert.deepEqual(ring.after(21), [frame(22, 10)]);
});

test('a seq that does not follow the newest frame starts the ring afresh', () => {
  const ring = new FrameRing(1_000, 16);
  ring.push(1, frame(1, 5));
  ring.push(2, frame(2, 5));
  ring.push(9, frame(9, 5));
  assert.equal(ring.after(1), undefined);
  assert.deepEqual(ring.after(8), [frame(9, 5)]);
});

test('whatever the frame sizes, the ring holds a suffix of what was pushed, within its bounds, and at least the newest frames that fit with room for wrapping', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 16, max: 600 }),
      fc.integer({ min: 1, max: 40 }),
      fc.array(fc.integer({ min: 1, max: 120 }), { minLength: 1, maxLength: 300 }),
      (maxBytes, maxFrames, lengths) => {
        const ring = new FrameRing(maxBytes, maxFrames);
        const pushed: Uint8Array[] = [];
        let longest = 0,
          emptiedAt = 0;
        lengths.forEach((len, k) => {
          const seq = k + 1,
            data = frame(seq, len);
          pushed.push(data);
          const kept = ring.push(seq, data);
          if (len > maxBytes) {
            assert.equal(kept, false);
            emptiedAt = seq;
            longest = 0;
            return;
          }
          longest = Math.max(longest, len);
          assert.equal(kept, true);
          assert.deepEqual(ring.after(seq - 1), [data], 'the newest frame held is the one pushed');
          assert.ok(ring.size <= maxFrames && ring.capacity <= maxBytes);
          const held = ring.after(seq - ring.size)!;
          assert.equal(held.length, ring.size);
          held.forEach((f, i) => assert.deepEqual(f, pushed[seq - ring.size + i], `frame ${seq - ring.size + i + 1}`));
          assert.equal(ring.after(seq - ring.size - 1), undefined, 'nothing older than the oldest held');
          // The newest frames whose bytes fit in the bound less two of the longest (wrap slack) are all held.
          let bytes = 0,
            must = 0;
          for (let s = seq; s > emptiedAt && must < maxFrames; s--) {
            bytes += pushed[s - 1]!.length;
            if (bytes > maxBytes - 2 * longest) break;
            must++;
          }
          assert.ok(ring.size >= Math.max(1, must), `holds ${ring.size}, must hold ${must}`);
        });
      },
    ),
    { numRuns: 300 },
  );
});
