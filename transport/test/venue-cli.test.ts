import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Registry } from 'prom-client';
import { serviceGate } from '../../engine/testing/index.js';
import { ConnectorMetrics, createVenueConnector, tickPublisherSink } from '../market-data/index.js';
import { lastTicksOnStream } from '../market-data/stream-seed.js';
import { ensureMarketStream, JetStreamTickSource, marketSubjects, TickPublisher, type MarketInput } from '../nats/index.js';
import { CoinbaseSim } from '../testing/venue-simulator/index.js';
import { expandFor, INSTRUMENTS, metricValue, TEST_SOCKET, topsOf } from './venue-harness.js';
import { until } from '../../engine/testing/index.js';

const skip = await serviceGate('nats', '127.0.0.1', 4222);

/** A free TCP port on 127.0.0.1. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer()
      .listen(0, '127.0.0.1', () => {
        const { port } = s.address() as { port: number };
        s.close(() => resolve(port));
      })
      .once('error', reject);
  });
}

interface Run {
  readonly exit: Promise<{ code: number | null; stdout: string; stderr: string }>;
  kill(): void;
}

function marketData(args: string[]): Run {
  // tsx itself (not npx) so that SIGTERM reaches the CLI, which shuts down cleanly.
  const child = spawn('node_modules/.bin/tsx', ['engine/main/market-data.ts', ...args], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => {
    stdout += String(d);
  });
  child.stderr.on('data', (d) => {
    stderr += String(d);
  });
  const exit = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.once('exit', (code) => resolve({ code, stdout, stderr })),
  );
  return { exit, kill: () => child.kill('SIGTERM') };
}

describe('market-data role with a venue connector', { skip }, () => {
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  before(async () => {
    nc = await connect({ servers: 'nats://127.0.0.1:4222' });
    jsm = await jetstreamManager(nc);
  });
  after(async () => {
    await nc?.close();
  });

  async function readStream(stream: string, namespace: string): Promise<MarketInput[]> {
    const last = (await jsm.streams.info(stream)).state.last_seq;
    const out: MarketInput[] = [];
    if (last === 0) return out;
    const source = new JetStreamTickSource(jetstream(nc), { stream, namespace, instruments: INSTRUMENTS });
    for await (const input of source) {
      out.push(input);
      if (input.seq >= last) break;
    }
    await source.stop();
    return out;
  }

  test('npm run market-data -- --source coinbase --url <simulator> publishes the good ticks, serves metrics, stops cleanly on SIGTERM, and a restart republishes nothing', async () => {
    const suffix = randomBytes(4).toString('hex');
    const stream = `T_VCLI_${suffix}`;
    const namespace = `vcli${suffix}`;
    const sim = await CoinbaseSim.start({ products: { 'BTC-USD': 60_000, 'ETH-USD': 3_000 } });
    const port = await freePort();
    const args = ['--source', 'coinbase', '--url', sim.url, '--symbols', 'BTC-USD', '--stream', stream, '--namespace', namespace];
    const first = marketData([...args, '--metrics-port', String(port)]);
    try {
      await until(() => sim.subscribed('BTC-USD'), { what: 'the CLI subscribed', deadlineMs: 60_000 });
      assert.equal(sim.subscribed('ETH-USD'), false, '--symbols narrows the subscription');
      for (let k = 0; k < 10; k++) sim.step('BTC-USD');
      sim.inject('BTC-USD', 'crossed');
      sim.inject('BTC-USD', 'stale');
      sim.step('BTC-USD');
      const expected = sim.record.expected(expandFor('coinbase', { 'BTC-USD': 'BTC-USD' })).get('BTC-USD')!;
      let metrics = '';
      await until(
        async () => {
          metrics = await fetch(`http://127.0.0.1:${port}/metrics`).then(
            (r) => r.text(),
            () => '',
          );
          return metrics.includes(`market_data_quotes_published_total{venue="coinbase",symbol="BTC-USD"} ${expected.length}`);
        },
        { what: 'the published count on /metrics', deadlineMs: 30_000 },
      );
      assert.match(metrics, /market_data_held_total\{venue="coinbase",symbol="BTC-USD",reason="CROSSED_BOOK"\} 1/);
      assert.match(metrics, /market_data_connected\{venue="coinbase"\} 1/);
      assert.match(metrics, /market_data_feed_age_seconds\{venue="coinbase",symbol="BTC-USD"\} \d/);
      first.kill();
      const done = await first.exit;
      assert.equal(done.code, 0, done.stderr);
      const summary = JSON.parse(done.stdout.trim().split('\n').pop()!) as { published: number; held: Record<string, number> };
      assert.deepEqual(summary.held, { CROSSED_BOOK: 1, STALE_TIMESTAMP: 1 });
      assert.equal(summary.published, expected.length);
      assert.deepEqual(topsOf((await readStream(stream, namespace)) as never, 'BTC-USD'), expected);
      assert.match(done.stderr, /"cause":"shutdown".*"msg":"venue connection closed"/);

      // A restart sees the stream's last tick: the venue's snapshot of the same top is not published again.
      const second = marketData(args);
      await until(() => sim.server.connections.size === 1 && sim.subscribed('BTC-USD'), {
        what: 'the restarted CLI subscribed',
        deadlineMs: 60_000,
      });
      await until(() => [...sim.server.connections][0]!.received.length >= 2, { what: 'its subscriptions', deadlineMs: 10_000 });
      second.kill();
      const again = await second.exit;
      assert.equal(again.code, 0, again.stderr);
      assert.equal((JSON.parse(again.stdout.trim().split('\n').pop()!) as { published: number }).published, 0);
    } finally {
      first.kill();
      await sim.stop();
      await jsm.streams.delete(stream).catch(() => false);
    }
  });

  test('a symbol the engine does not know stops the CLI before it connects, with exit 2 and UNKNOWN_SYMBOL', async () => {
    const run = marketData([
      '--source',
      'binance',
      '--symbols',
      'DOGEUSDT=DOGE-USD',
      '--url',
      'ws://127.0.0.1:9',
      '--stream',
      'T_VCLI_BAD',
      '--namespace',
      'vclibad',
    ]);
    const done = await run.exit;
    assert.equal(done.code, 2);
    assert.match(done.stderr, /UNKNOWN_SYMBOL .*DOGE-USD/);
    await jsm.streams.delete('T_VCLI_BAD').catch(() => false);
  });

  test('an active and a standby connector of one venue keep the stream single, and the standby carries on when the active one stops', async () => {
    const suffix = randomBytes(4).toString('hex');
    const stream = `T_VAS_${suffix}`;
    const namespace = `vas${suffix}`;
    await ensureMarketStream(jsm, { name: stream, subjects: marketSubjects(namespace), storage: 'memory' });
    const sim = await CoinbaseSim.start({ products: { 'BTC-USD': 60_000 } });
    const subs = { 'BTC-USD': 'BTC-USD' };
    const make = () => {
      const registry = new Registry();
      const connector = createVenueConnector({
        venue: 'coinbase',
        instruments: INSTRUMENTS,
        subscriptions: subs,
        url: sim.url,
        socket: TEST_SOCKET,
        metrics: new ConnectorMetrics(registry),
        sink: tickPublisherSink(new TickPublisher(jetstream(nc), { namespace, instruments: INSTRUMENTS })),
      });
      return { connector, registry };
    };
    const active = make();
    const standby = make();
    try {
      active.connector.start();
      await until(() => sim.subscribed('BTC-USD'), { what: 'the active connector', deadlineMs: 10_000 });
      for (let k = 0; k < 10; k++) sim.step('BTC-USD');
      await until(() => active.connector.published === 11, {
        what: "the active connector's ticks (the snapshot and ten updates)",
        deadlineMs: 10_000,
      });
      standby.connector.seed(await lastTicksOnStream(jsm, stream, namespace, 'coinbase', ['BTC-USD']));
      standby.connector.start();
      await until(() => sim.server.connections.size === 2 && [...sim.server.connections].every((c) => c.received.length === 2), {
        what: 'the standby subscribed',
        deadlineMs: 10_000,
      });
      for (let k = 0; k < 10; k++) sim.step('BTC-USD');
      assert.equal(standby.connector.published, 0, "the standby's snapshot is the top already on the stream");
      await until(() => active.connector.published === 21 && standby.connector.published === 10, {
        what: 'both connectors publishing',
        deadlineMs: 10_000,
      });
      await until(
        async () =>
          (await metricValue(standby.registry, 'market_data_duplicates_total')) +
            (await metricValue(active.registry, 'market_data_duplicates_total')) ===
          10,
        { what: 'every second copy reported a duplicate', deadlineMs: 10_000 },
      );
      await active.connector.stop();
      for (let k = 0; k < 10; k++) sim.step('BTC-USD');
      await until(() => standby.connector.published === 20, { what: 'the standby alone', deadlineMs: 10_000 });
      const expected = sim.record.expected(expandFor('coinbase', subs)).get('BTC-USD')!;
      const ticks = (await readStream(stream, namespace)).filter((i) => i.type === 'tick');
      assert.equal(ticks.length, 31);
      assert.deepEqual(topsOf(ticks as never, 'BTC-USD'), expected, 'one stream, each good top once and in order');
    } finally {
      await active.connector.stop();
      await standby.connector.stop();
      await sim.stop();
      await jsm.streams.delete(stream).catch(() => false);
    }
  });
});
