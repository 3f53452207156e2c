/**
 * Fuzz: 100,000 random and mutated frames at a running gateway. It must stay
 * up, answer every frame with exactly one frame (an error, or the answer to
 * a frame that happened to be valid) or close the connection, and keep its
 * memory bounded.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import WebSocket from 'ws';
import { serviceGate } from '../../engine/testing/index.js';
import { Random } from '../../sim/index.js';
import { startHarness, token, type Harness } from './gateway-harness.js';
import { until } from '../../engine/testing/index.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);
const flag = process.argv.indexOf('--frames');
/** CI: 100,000; the long form: `npm run fuzz:ws -- --frames 1000000` (or FUZZ_FRAMES=1000000). */
const FRAMES = Number(flag >= 0 ? process.argv[flag + 1] : (process.env['FUZZ_FRAMES'] ?? 100_000));
const CONNECTIONS = 4;

/** Frames a client could send, to mutate. */
function seeds(r: Random): Uint8Array[] {
  const id = () => `x${Math.floor(r.uniform() * 1e6)}`;
  return [
    encode({ t: 'ping', ts: r.uniform() * 1e12 }),
    encode({ t: 'auth', token: 'eyJhbGciOiJIUzI1NiJ9.e30.sig' }),
    encode({ t: 'sub', id: 1, assessmentId: id() }),
    encode({ t: 'sub', id: 'a', assessmentId: id(), resume: { epoch: 1, seq: 3 } }),
    encode({ t: 'unsub', id: 2, assessmentId: id() }),
    encode({
      t: 'order',
      id: 3,
      assessmentId: id(),
      order: { op: 'place', clientOrderId: id(), symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1 },
    }),
    encode({ t: 'order', id: 4, assessmentId: id(), order: { op: 'cancel', orderId: 'o1' } }),
  ];
}

function mutate(r: Random, base: Uint8Array): Uint8Array {
  const kind = Math.floor(r.uniform() * 6);
  const b = Uint8Array.from(base);
  switch (kind) {
    case 0:
      for (let k = 0; k < 1 + r.uniform() * 4; k++) b[Math.floor(r.uniform() * b.length)] = Math.floor(r.uniform() * 256);
      return b;
    case 1:
      return b.subarray(0, Math.floor(r.uniform() * b.length));
    case 2: {
      const out = new Uint8Array(b.length + 1 + Math.floor(r.uniform() * 64));
      out.set(b);
      for (let k = b.length; k < out.length; k++) out[k] = Math.floor(r.uniform() * 256);
      return out;
    }
    case 3: {
      const out = new Uint8Array(1 + Math.floor(r.uniform() * 256));
      for (let k = 0; k < out.length; k++) out[k] = Math.floor(r.uniform() * 256);
      return out;
    }
    case 4:
      return encode(randomValue(r, 3));
    default:
      return b;
  }
}

function randomValue(r: Random, depth: number): unknown {
  const k = Math.floor(r.uniform() * (depth > 0 ? 9 : 6));
  switch (k) {
    case 0:
      return null;
    case 1:
      return r.uniform() < 0.5;
    case 2:
      return Math.floor((r.uniform() - 0.5) * 2 ** 40);
    case 3:
      return (r.uniform() - 0.5) * 1e9;
    case 4:
      return ['t', 'sub', 'order', 'auth', 'ping', 'x'.repeat(Math.floor(r.uniform() * 100))][Math.floor(r.uniform() * 6)];
    case 5:
      return new Uint8Array(Math.floor(r.uniform() * 16));
    case 6:
      return Array.from({ length: Math.floor(r.uniform() * 5) }, () => randomValue(r, depth - 1));
    default:
      return Object.fromEntries(
        Array.from({ length: Math.floor(r.uniform() * 5) }, () => [
          ['t', 'id', 'assessmentId', 'order', 'token', 'op', 'resume'][Math.floor(r.uniform() * 7)]!,
          randomValue(r, depth - 1),
        ]),
      );
  }
}

describe('gateway fuzz', { skip }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness([['fz-owned', 'someone-else']], {
      gateway: {
        messagesPerSecond: 1e6,
        traderMessagesPerSecond: 1e6,
        maxProtocolErrors: 1e9,
        maxConnectionsPerTrader: 64,
        traderConnectionsPerWindow: 1e9,
        addressConnectionsPerWindow: 1e9,
      },
    });
  });
  after(async () => {
    await h?.stop();
  });

  test(`${FRAMES.toLocaleString('en-US')} random and mutated frames each get one answer or a close, the gateway stays up and its memory stays bounded`, {
    timeout: 600_000,
  }, async (t) => {
    const r = new Random('fuzz');
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    let sent = 0,
      answered = 0,
      closes = 0,
      invalidText = 0;
    const closeCodes = new Map<number, number>();
    const codes = new Map<string, number>();
    const worker = async (n: number): Promise<void> => {
      while (sent < FRAMES) {
        const ws = new WebSocket(h.url, 'vatic.v1.msgpack');
        let got = 0,
          expected = 0;
        let closed = false;
        let ready = false;
        ws.on('message', (d) => {
          const f = decode(d as Buffer) as { t: string; code?: string };
          if (f.t === 'ready') return void (ready = true);
          got++;
          codes.set(f.code ?? f.t, (codes.get(f.code ?? f.t) ?? 0) + 1);
        });
        const closing = new Promise<void>((res) =>
          ws.on('close', (code) => {
            if (!closed && got < expected) closeCodes.set(code, (closeCodes.get(code) ?? 0) + 1);
            closed = true;
            res();
          }),
        );
        await new Promise((res, rej) => {
          ws.on('open', res);
          ws.on('error', rej);
        });
        ws.send(encode({ t: 'auth', token: await token(`fuzzer-${n}`) }));
        while (!ready && !closed) await new Promise((res) => setTimeout(res, 2));
        const base = seeds(r);
        for (let k = 0; k < 1_000 && sent < FRAMES && !closed; k++) {
          const roll = r.uniform();
          // Mostly binary (valid and mutated msgpack); some JSON text on the msgpack protocol; rarely text
          // that is not UTF-8, on which the WebSocket standard itself requires a close (1007).
          if (roll < 0.97)
            ws.send(roll < 0.1 ? base[Math.floor(r.uniform() * base.length)]! : mutate(r, base[Math.floor(r.uniform() * base.length)]!), {
              binary: true,
            });
          else if (roll < 0.9995) ws.send(JSON.stringify(randomValue(r, 2)) ?? 'null', { binary: false });
          else {
            ws.send(Buffer.from([0xff, 0xfe, 0xc0]), { binary: false });
            invalidText++;
          }
          sent++;
          expected++;
          if ((k & 255) === 255) await new Promise((res) => setImmediate(res));
        }
        // Every frame is answered unless the connection was closed on it.
        const end = Date.now() + 30_000;
        while (!closed && got < expected && Date.now() < end) await new Promise((res) => setTimeout(res, 10));
        if (closed) closes++;
        else assert.equal(got, expected, 'one answer per frame');
        answered += got;
        ws.close();
        await closing;
      }
    };
    await Promise.all(Array.from({ length: CONNECTIONS }, (_, n) => worker(n)));
    const probe = await h.connect('after-fuzz');
    assert.ok((await probe.ping()) >= 0, 'the gateway still answers');
    probe.close();
    const grownMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
    t.diagnostic(
      `frames ${sent} in ${((Date.now() - started) / 1000).toFixed(1)} s, answered ${answered}, connections closed by the server ${closes}, RSS start ${(rssBefore / 2 ** 20).toFixed(0)} MiB, end ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB (growth ${grownMiB.toFixed(1)} MiB)`,
    );
    t.diagnostic(
      `server closes by code: ${[...closeCodes].map(([c, k]) => `${c} ×${k}`).join(', ')} (text frames that were not UTF-8: ${invalidText})`,
    );
    t.diagnostic(
      `answers by code: ${[...codes]
        .sort((a, b) => b[1] - a[1])
        .map(([c, k]) => `${c} ${k}`)
        .join(', ')}`,
    );
    assert.ok(sent >= FRAMES);
    // The only frames closed on are text frames that are not UTF-8 (RFC 6455 requires failing the connection); every other frame was answered.
    assert.deepEqual(
      [...closeCodes.keys()].filter((c) => c !== 1007 && c !== 1006),
      [],
      'no close but the one on invalid UTF-8 (uWS drops the connection: 1006)',
    );
    assert.ok(closes <= invalidText);
    assert.ok(grownMiB < 200, `RSS grew ${grownMiB.toFixed(1)} MiB`);
    await until(() => h.gateway.connections === 0, { what: 'every socket released', deadlineMs: 5_000 });
  });
});
