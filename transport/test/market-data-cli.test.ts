import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { readTape } from '../../engine/index.js';
import { serviceGate } from '../../engine/testing/index.js';
import { JetStreamTickSource, type MarketInput } from '../nats/index.js';

const run = promisify(execFile);
const skip = await serviceGate('nats', '127.0.0.1', 4222);
const TAPE = 'tapes/prediction-settlement.jsonl';

async function publish(
  stream: string,
  namespace: string,
  tape = TAPE,
  speed: string[] = ['--speed', '1000000'],
): Promise<{ published: number; duplicates: number; failed: number; refused: number; lastSeq: number; stderr: string }> {
  const { stdout, stderr } = await run(
    'npx',
    ['tsx', 'engine/main/market-data.ts', '--source', 'tape', '--tape', tape, ...speed, '--stream', stream, '--namespace', namespace],
    { cwd: process.cwd(), timeout: 60_000 },
  );
  return { ...JSON.parse(stdout.trim().split('\n').pop()!), stderr };
}

describe('market-data role', { skip }, () => {
  test('a replayed tape lands on the market stream once, in order, and a restarted replay is deduplicated', async () => {
    const suffix = randomBytes(4).toString('hex');
    const stream = `T_MD_${suffix}`;
    const namespace = `md${suffix}`;
    const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
    try {
      // The tape's instrument definitions go first, then its ticks and resolutions in order.
      const inputs = readTape(TAPE).map((s) => s.input);
      const expected = [
        ...inputs.filter((i) => i.type === 'instrument'),
        ...inputs.filter((i) => i.type === 'tick' || i.type === 'resolution'),
      ];
      const { stderr, ...first } = await publish(stream, namespace, TAPE, []); // the default speed for a tape: as fast as acknowledged
      assert.deepEqual(first, { published: expected.length, duplicates: 0, failed: 0, refused: 0, lastSeq: expected.length });
      assert.match(stderr, /as fast as the stream acknowledges/);
      assert.match(stderr, /done: 2 instrument definitions, then 5\/5 sent \(100%\), feed time 2026-11-04T06:00:00\.000Z/);
      assert.match(stderr, /left out \(not market data\): 1 tier, 4 clock, 1 create, 4 command/);
      const { stderr: _again, ...again } = await publish(stream, namespace);
      assert.deepEqual(again, { published: 0, duplicates: expected.length, failed: 0, refused: 0, lastSeq: expected.length });

      const source = new JetStreamTickSource(jetstream(nc), { stream, namespace });
      const got: MarketInput[] = [];
      for await (const input of source) {
        got.push(input);
        if (got.length === expected.length) break;
      }
      await source.stop();
      assert.deepEqual(
        got.map((g) => g.seq),
        expected.map((_, k) => k + 1),
      );
      // Same content as the tape, the stream sequence replacing the tape's.
      assert.deepEqual(
        got.map(({ seq: _s, ...rest }) => rest),
        expected.map((e) => {
          if (e.type === 'instrument') return e;
          const { seq: _s, ...rest } = e as MarketInput & { seq: number };
          return rest;
        }),
      );
    } finally {
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
      await nc.close();
    }
  });

  test('a tape with a binary tick priced in cents publishes nothing and exits 2 naming the line and PRICE_OUT_OF_RANGE', async () => {
    const suffix = randomBytes(4).toString('hex');
    const stream = `T_MD_${suffix}`;
    const dir = mkdtempSync(join(tmpdir(), 'vatic-md-'));
    const lines = readFileSync(TAPE, 'utf8').split('\n');
    const at = lines.findIndex((l) => l.includes('"seq":3,'));
    lines[at] = lines[at]!.replace('"bid":0.84,"ask":0.86', '"bid":84,"ask":86');
    const tape = join(dir, 'cents.jsonl');
    writeFileSync(tape, lines.join('\n'));
    const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
    try {
      await assert.rejects(
        publish(stream, `md${suffix}`, tape),
        (err: { code?: number; stderr?: string }) =>
          err.code === 2 && new RegExp(`INVALID_TAPE tape line ${at + 1}: PRICE_OUT_OF_RANGE`).test(err.stderr ?? ''),
      );
      const info = await (await jetstreamManager(nc)).streams.info(stream).catch(() => undefined);
      assert.equal(info?.state.messages ?? 0, 0);
    } finally {
      await (await jetstreamManager(nc)).streams.delete(stream).catch(() => false);
      await nc.close();
    }
  });
});
