/**
 * The gateway's limits are per principal (trader, address), not per
 * connection; a session ends with its token; nothing a client sends (or
 * does not read) grows the server without bound.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { serviceGate } from '../../engine/testing/index.js';
import { createSharedState } from '../../persistence/index.js';
import { type ProtocolError, VaticClient, type SocketConstructor } from '../client/vatic-client.js';
import { Gateway, type GatewayOptions } from '../server/gateway.js';
import { GatewayMetrics } from '../server/gateway-metrics.js';
import { StreamHub } from '../server/stream-hub.js';
import { TokenVerifier } from '../server/token-verifier.js';
import { SECRET, startHarness, token, type Harness } from './gateway-harness.js';
import { until } from '../../engine/testing/index.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);
const WS = WebSocket as unknown as SocketConstructor;

interface Raw {
  ws: WebSocket;
  frames: Array<{ t: string; code?: string; id?: unknown }>;
  closed: { code: number; reason: string } | undefined;
  whenClosed: Promise<{ code: number; reason: string }>;
}

/** A raw msgpack socket, signed in as `sub` (resolves after `ready`, or after the close that refused it). */
async function signIn(url: string, sub: string): Promise<Raw> {
  const ws = new WebSocket(url, 'vatic.v1.msgpack');
  const r: Raw = { ws, frames: [], closed: undefined, whenClosed: undefined as never };
  ws.on('message', (d) => r.frames.push(decode(d as Buffer) as Raw['frames'][number]));
  r.whenClosed = new Promise((res) => ws.on('close', (code, reason) => res((r.closed = { code, reason: String(reason) }))));
  await new Promise((res, rej) => {
    ws.on('open', res);
    ws.on('error', rej);
  });
  ws.send(encode({ t: 'auth', token: await token(sub) }));
  await until(() => r.closed !== undefined || r.frames.some((f) => f.t === 'ready'), { what: 'ready or a close', deadlineMs: 5_000 });
  return r;
}

describe('gateway limits per principal', { skip }, () => {
  let h: Harness;
  const extra: Gateway[] = [];
  /** Another gateway on the harness's engine, with its own limits (and, if given, its own hub). */
  const gatewayWith = async (o: Partial<GatewayOptions>): Promise<string> => {
    const hub = o.hub ?? h.hub;
    const g = await Gateway.start({
      engine: h.node,
      verifier: await TokenVerifier.create({ secret: SECRET }),
      hub,
      metrics: new GatewayMetrics(new Registry(), hub),
      log: pino({ level: 'silent' }),
      port: 0,
      authTimeoutMs: 2_000,
      ...o,
    });
    extra.push(g);
    return `ws://127.0.0.1:${g.port}/v1/ws`;
  };

  before(async () => {
    h = await startHarness([
      ['l-alice-1', 'alice'],
      ['l-alice-2', 'alice'],
      ['l-alice-3', 'alice'],
      ['l-bob', 'bob'],
    ]);
  });
  after(async () => {
    for (const g of extra) await g.drain();
    await h?.stop();
  });

  test('a session is closed with TOKEN_EXPIRED when its token expires', async () => {
    const c = await VaticClient.connect(h.url, await token('alice', { expiresIn: '2s' }), { WebSocket: WS });
    assert.ok(c.expiresAt > Date.now() && c.expiresAt <= Date.now() + 2_000, 'ready tells the expiry');
    assert.ok((await c.ping()) >= 0);
    const closed = await Promise.race([c.whenClosed(), new Promise<undefined>((r) => setTimeout(r, 4_500))]);
    assert.deepEqual(closed, { code: 1008, reason: 'TOKEN_EXPIRED' });
    assert.ok(c.errors.some((e) => e.code === 'TOKEN_EXPIRED'));
  });

  test('a re-auth with a new token of the same trader keeps the session past the old expiry; another trader\u2019s token is refused', async () => {
    const c = await VaticClient.connect(h.url, await token('alice', { expiresIn: '2s' }), {
      WebSocket: WS,
      refreshToken: () => token('alice', { expiresIn: '5m' }),
      refreshBeforeMs: 1_000,
    });
    await assert.rejects(c.reauth(await token('bob')), (e: ProtocolError) => e.code === 'AUTH_FAILED' && /same trader/.test(e.message));
    await new Promise((r) => setTimeout(r, 3_000));
    assert.equal(c.closed, undefined);
    assert.ok(c.expiresAt > Date.now() + 60_000, 'the refreshed token governs');
    assert.ok((await c.ping()) >= 0);
    c.close();
  });

  test('the trader\u2019s frame rate holds over reconnects: a reconnect loop gets no more than the trader\u2019s budget', async () => {
    const url = await gatewayWith({
      traderMessagesPerSecond: 20,
      messagesPerSecond: 1_000,
      traderConnectionsPerWindow: 1e6,
      addressConnectionsPerWindow: 1e6,
    });
    const started = Date.now();
    let pongs = 0;
    while (Date.now() - started < 1_500) {
      const r = await signIn(url, 'looper');
      for (let k = 0; k < 40; k++) r.ws.send(encode({ t: 'ping' }));
      await until(() => r.frames.filter((f) => f.t !== 'ready').length >= 40 || r.closed !== undefined, {
        what: '40 answers',
        deadlineMs: 5_000,
      });
      pongs += r.frames.filter((f) => f.t === 'pong').length;
      r.ws.close();
      await r.whenClosed;
    }
    const seconds = Math.ceil((Date.now() - started) / 1000);
    assert.ok(pongs <= 20 * (seconds + 1), `${pongs} frames answered in ${seconds} s against 20/s`);
    assert.ok(pongs >= 20, `the budget is given (${pongs})`);
  });

  test('an order refused for the trader\u2019s frame budget names the order\u2019s id, so the client knows which one to send again', async () => {
    const url = await gatewayWith({
      traderMessagesPerSecond: 5,
      messagesPerSecond: 1_000,
      traderConnectionsPerWindow: 1e6,
      addressConnectionsPerWindow: 1e6,
    });
    const r = await signIn(url, 'budgeted');
    for (let k = 1; k <= 12; k++) {
      r.ws.send(
        encode({
          t: 'order',
          id: k,
          assessmentId: 'a-budgeted',
          order: { op: 'place', clientOrderId: `c-${k}`, symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 1 },
        }),
      );
    }
    await until(() => r.frames.filter((f) => f.t !== 'ready').length >= 12, { what: '12 answers', deadlineMs: 5_000 });
    const limited = r.frames.filter((f) => f.code === 'RATE_LIMITED');
    assert.ok(limited.length > 0, 'the trader went over its budget');
    assert.deepEqual(
      limited.map((f) => typeof f.id),
      limited.map(() => 'number'),
      'every refusal names its order',
    );
    r.ws.close();
  });

  test('two gateways sharing the Redis limiter give a trader its frame rate once, not once per gateway', async (t) => {
    const redisSkip = await serviceGate('redis', '127.0.0.1', 6379);
    if (redisSkip !== false) return t.skip(String(redisSkip));
    const shared = await createSharedState({ redisUrl: 'redis://127.0.0.1:6379', keyPrefix: `test-limits-${process.pid}-${Date.now()}:` });
    try {
      const limits = { traderMessagesPerSecond: 20, messagesPerSecond: 1_000 };
      const a = await gatewayWith({ ...limits, frameLimiter: shared.limiter({ limit: 20, windowMs: 1_000 }) });
      const b = await gatewayWith({ ...limits, frameLimiter: shared.limiter({ limit: 20, windowMs: 1_000 }) });
      const [ra, rb] = [await signIn(a, 'shared-trader'), await signIn(b, 'shared-trader')];
      const started = Date.now();
      // 2 frames per gateway every 25 ms for a second: 160 frames, 8 times the trader's rate.
      for (let k = 0; k < 40; k++) {
        for (const r of [ra, rb]) for (let j = 0; j < 2; j++) r.ws.send(encode({ t: 'ping' }));
        await new Promise((res) => setTimeout(res, 25));
      }
      await until(() => [ra, rb].every((r) => r.frames.filter((f) => f.t !== 'ready').length >= 80), {
        what: '160 answers',
        deadlineMs: 5_000,
      });
      const windows = Math.floor(Date.now() / 1000) - Math.floor(started / 1000) + 1;
      const pongs = [ra, rb].reduce((n, r) => n + r.frames.filter((f) => f.t === 'pong').length, 0);
      // At most the rate per window spanned, plus one lease (a fifth of the rate) per gateway.
      assert.ok(pongs <= 20 * windows + 2 * 4, `${pongs} frames answered over ${windows} window(s) against 20/s`);
      assert.ok(pongs >= 16, `the budget is given (${pongs})`);
      for (const r of [ra, rb]) r.ws.close();
    } finally {
      await shared.close();
    }
  });

  test('new connections are limited per trader and per address', async () => {
    const url = await gatewayWith({ traderConnectionsPerWindow: 3, addressConnectionsPerWindow: 1e6 });
    const ok = [];
    for (let k = 0; k < 3; k++) ok.push(await signIn(url, 'carol'));
    assert.ok(ok.every((r) => r.closed === undefined));
    for (const r of ok) r.ws.close();
    const fourth = await signIn(url, 'carol');
    assert.deepEqual(await Promise.race([fourth.whenClosed, new Promise((res) => setTimeout(res, 3_000))]), {
      code: 1008,
      reason: 'CONNECTION_RATE_LIMITED',
    });
    const byAddress = await gatewayWith({ addressConnectionsPerWindow: 2 });
    for (let k = 0; k < 2; k++) (await signIn(byAddress, `addr-${k}`)).ws.close();
    const refused = await new Promise<number>((res) => {
      const ws = new WebSocket(byAddress, 'vatic.v1.msgpack');
      ws.on('unexpected-response', (_req, r) => res(r.statusCode ?? 0));
      ws.on('open', () => res(101));
      ws.on('error', () => undefined);
    });
    assert.equal(refused, 429);
  });

  test('control-frame pings count against the connection\u2019s rate: a ping flood is closed, not answered 50,000 times', async () => {
    const r = await signIn(h.url, 'pinger');
    let pongs = 0;
    r.ws.on('pong', () => pongs++);
    for (let k = 0; k < 5_000 && r.ws.readyState === WebSocket.OPEN; k++) r.ws.ping();
    const closed = await Promise.race([r.whenClosed, new Promise<undefined>((res) => setTimeout(res, 5_000))]);
    assert.deepEqual(closed, { code: 1008, reason: 'RATE_LIMITED' });
    assert.ok(pongs < 5_000, `${pongs} pongs`);
  });

  test('a flood on one connection closes that connection only, not the trader\u2019s well-behaved others', async () => {
    const calm = await Promise.all(Array.from({ length: 5 }, () => signIn(h.url, 'dave')));
    const flooder = await signIn(h.url, 'dave');
    // Each calm connection stays under its own 50/s, together over the trader's 100/s: they are refused some frames, never closed.
    const ticking = setInterval(() => {
      for (const c of calm) if (c.ws.readyState === WebSocket.OPEN) c.ws.send(encode({ t: 'ping' }));
    }, 25);
    try {
      for (let k = 0; k < 3_000 && flooder.ws.readyState === WebSocket.OPEN; k++) flooder.ws.send(encode({ t: 'ping' }));
      assert.deepEqual(await flooder.whenClosed, { code: 1008, reason: 'RATE_LIMITED' });
      await new Promise((r) => setTimeout(r, 2_000));
    } finally {
      clearInterval(ticking);
    }
    assert.deepEqual(
      calm.map((c) => c.closed),
      calm.map(() => undefined),
      'the calm connections are open',
    );
    assert.ok(
      calm.some((c) => c.frames.some((f) => f.code === 'RATE_LIMITED')),
      'the trader went over its budget',
    );
    await new Promise((r) => setTimeout(r, 1_100));
    const before = calm[0]!.frames.filter((f) => f.t === 'pong').length;
    calm[0]!.ws.send(encode({ t: 'ping' }));
    await until(() => calm[0]!.frames.filter((f) => f.t === 'pong').length > before, { what: 'a pong', deadlineMs: 5_000 });
    for (const c of calm) c.ws.close();
  });

  test('a repeated sub is answered ALREADY_SUBSCRIBED without a second snapshot, and subscriptions are bounded per trader over its connections', async () => {
    const url = await gatewayWith({ maxTraderSubscriptions: 2 });
    const one = await signIn(url, 'alice');
    const two = await signIn(url, 'alice');
    one.ws.send(encode({ t: 'sub', id: 1, assessmentId: 'l-alice-1' }));
    one.ws.send(encode({ t: 'sub', id: 2, assessmentId: 'l-alice-1' }));
    const answers = () => one.frames.filter((f) => f.id === 1 || f.id === 2); // a delta of the first sub may come between them
    await until(() => answers().length >= 2, { what: 'two answers', deadlineMs: 5_000 });
    // The repeat is refused at once, even while the first sub's state is still being read.
    assert.deepEqual(
      answers()
        .map((f) => [f.t, f.id, f.code])
        .sort((x, y) => Number(x[1]) - Number(y[1])),
      [
        ['snapshot', 1, undefined],
        ['error', 2, 'ALREADY_SUBSCRIBED'],
      ],
    );
    one.ws.send(encode({ t: 'sub', id: 6, assessmentId: 'l-alice-1' }));
    await until(() => one.frames.some((f) => f.id === 6), { what: 'an answer', deadlineMs: 5_000 });
    assert.equal(one.frames.find((f) => f.id === 6)?.code, 'ALREADY_SUBSCRIBED', 'and after it');
    two.ws.send(encode({ t: 'sub', id: 3, assessmentId: 'l-alice-2' }));
    await until(() => two.frames.some((f) => f.t === 'snapshot'), { what: 'a snapshot', deadlineMs: 5_000 });
    one.ws.send(encode({ t: 'sub', id: 4, assessmentId: 'l-alice-3' }));
    await until(() => one.frames.some((f) => f.id === 4), { what: 'an answer', deadlineMs: 5_000 });
    assert.equal(one.frames.find((f) => f.id === 4)?.code, 'TOO_MANY_SUBSCRIPTIONS');
    two.ws.close();
    await two.whenClosed;
    await until(() => h.gateway !== undefined && extra.at(-1)!.connections === 1, {
      what: 'the closed connection\u2019s subscription released',
      deadlineMs: 5_000,
    });
    one.ws.send(encode({ t: 'sub', id: 5, assessmentId: 'l-alice-3' }));
    await until(() => one.frames.some((f) => f.id === 5), { what: 'an answer', deadlineMs: 5_000 });
    assert.equal(one.frames.find((f) => f.id === 5)?.t, 'snapshot');
    one.ws.close();
  });

  test('snapshots count against the hard buffer limit: a connection that subscribes over and over and never reads is closed as a slow consumer', async () => {
    const hub = new StreamHub({ epoch: h.node.epoch, watch: () => undefined, hardLimitBytes: 64 * 1024 });
    const url = await gatewayWith({ hub, messagesPerSecond: 1e6, traderMessagesPerSecond: 1e6 });
    const g = extra.at(-1)!;
    const r = await signIn(url, 'alice');
    (r.ws as unknown as { _socket: { pause(): void } })._socket.pause(); // never reads again
    for (let k = 0; k < 20_000 && g.connections > 0; k++) {
      r.ws.send(encode({ t: 'sub', id: k, assessmentId: 'l-alice-1' }));
      r.ws.send(encode({ t: 'unsub', id: k, assessmentId: 'l-alice-1' }));
      if ((k & 63) === 63) await new Promise((res) => setImmediate(res));
    }
    await until(() => g.connections === 0, { what: 'the reader closed', deadlineMs: 10_000 });
    assert.ok(hub.counters.slowClosed >= 1);
    r.ws.terminate();
  });

  test('a text frame that is not UTF-8 on the JSON subprotocol ends that connection (as RFC 6455 requires) and is counted; the gateway serves on', async () => {
    const ws = new WebSocket(h.url, 'vatic.v1.json');
    await new Promise((res) => ws.on('open', res));
    const closed = new Promise<number>((res) => ws.on('close', (code) => res(code)));
    ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
    assert.ok([1006, 1007].includes(await closed));
    assert.match(await h.registry.metrics(), /gateway_protocol_errors_total\{code="MALFORMED_FRAME"\} [1-9]/);
    const c = await h.connect('alice', { protocol: 'vatic.v1.json' });
    assert.ok((await c.ping()) >= 0);
    c.close();
  });
});

describe('gateway port', { skip }, () => {
  test('a second gateway on a port already served fails with PORT_IN_USE naming the port; the first keeps it', async () => {
    const h = await startHarness([]);
    try {
      const hub = h.hub;
      const second = Gateway.start({
        engine: h.node,
        verifier: await TokenVerifier.create({ secret: SECRET }),
        hub,
        metrics: new GatewayMetrics(new Registry(), hub),
        log: pino({ level: 'silent' }),
        port: h.gateway.port,
      });
      await assert.rejects(
        second,
        (e: Error & { code?: string; port?: number }) =>
          e.code === 'PORT_IN_USE' && e.port === h.gateway.port && e.message.includes(`port ${h.gateway.port}`),
      );
      // Every request reaches the first gateway (its own 404s are counted in its own registry).
      for (let k = 0; k < 20; k++) assert.equal((await fetch(`http://127.0.0.1:${h.gateway.port}/nowhere`)).status, 404);
      assert.match(await h.registry.metrics(), /gateway_http_errors_total\{code="NOT_FOUND"\} 20\b/);
    } finally {
      await h.stop();
    }
  });
});
