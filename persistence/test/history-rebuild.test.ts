/**
 * The history read model fed live from the events stream's durable consumer
 * equals the one rebuilt from the streams from scratch, table by table; and
 * the same events delivered twice, or in another order, give the same tables.
 * A real engine node on NATS JetStream and Postgres, driven by the demo's
 * feed and bot traders.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import type postgres from 'postgres';
import { composeNode, type ComposedNode } from '../../engine/main/compose-node.js';
import { createTestDatabase, serviceGate, type TestDatabase } from '../../engine/testing/index.js';
import { HISTORY_TABLES, PgHistoryStore, type HistoryEvent } from '../history/index.js';
import { decodeJson, encodeJson } from '../../engine/index.js';
import { cutTape, rebuildHistory, eventSubject } from '../../transport/nats/index.js';
import { presetTiers } from '../../actors/index.js';
import { runInputs } from '../../engine/index.js';
import { BotsOutput, runScenario } from './history-scenario.js';
import { until } from '../../engine/testing/index.js';

const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));

const KEYS: Record<string, string> = {
  history_events: 'assessment_id, input, n',
  history_assessments: 'assessment_id',
  history_fills: 'assessment_id, no',
  history_trades: 'assessment_id, no',
  history_days: 'assessment_id, phase_index, day_index',
  history_points: 'assessment_id, no',
  history_transitions: 'assessment_id, no',
  history_marks: 'symbol, bucket',
};

/** Every table of the projection, rows in key order (violations without their serial id). */
async function tables(sql: postgres.Sql): Promise<Record<string, unknown[]>> {
  const out: Record<string, unknown[]> = {};
  for (const t of HISTORY_TABLES) out[t] = [...(await sql.unsafe(`select * from ${t} order by ${KEYS[t]}`))];
  out['violations'] = [
    ...(await sql`select assessment_id, rule_id, evidence, at, input, n, no, phase_index from violations where input is not null order by assessment_id, input, n`),
  ];
  return out;
}

describe('the history read model, live and rebuilt', { skip }, () => {
  const ns = `hist-${randomBytes(4).toString('hex')}`;
  const streams = { marketStream: `MARKET_${ns.replace('-', '_')}`, eventStream: `EVENTS_${ns.replace('-', '_')}` };
  let live: TestDatabase;
  let node: ComposedNode;
  let nc: NatsConnection;
  const extra: TestDatabase[] = [];

  before(async () => {
    live = await createTestDatabase();
    const bots = new BotsOutput();
    node = await composeNode(
      {
        natsUrl: 'nats://127.0.0.1:4222',
        databaseUrl: live.url,
        namespace: ns,
        ...streams,
        group: ns,
        workers: 1,
        clockBeat: false,
        checkpointIntervalMs: 1_000,
      },
      pino({ level: 'silent' }),
      [bots],
    );
    await runScenario(node, bots, { accounts: 24, feedMs: 30 * 3_600_000, seed: 'rebuild', meanIntervalMs: 60_000, actionsPerHour: 4 });
    nc = await connect({ servers: 'nats://127.0.0.1:4222' });
  });
  after(async () => {
    await node?.close();
    const jsm = nc === undefined ? undefined : await jetstreamManager(nc);
    for (const s of [streams.marketStream, streams.eventStream]) await jsm?.streams.delete(s).catch(() => undefined);
    await nc?.close();
    await live?.drop();
    for (const d of extra) await d.drop();
  });

  test('the live projection, fed by the durable consumer, equals a rebuild from the streams', async () => {
    const jsm = await jetstreamManager(nc);
    const messages = (await jsm.streams.info(streams.eventStream)).state.messages;
    assert.ok(messages > 500, `the scenario published events (${messages})`);
    // Deadline-bounded: the consumer has stored every event of the stream.
    let stored = 0;
    await until(
      async () => {
        stored = Number((await live.sql`select count(*)::int as n from history_events`)[0]!['n']);
        return stored === messages;
      },
      { what: 'the live history to store every event of the stream', deadlineMs: 60_000, intervalMs: 100 },
    ).catch(() => undefined); // the count is asserted below
    assert.equal(stored, messages, 'every event of the stream is in the live history');
    await node.close(); // its marks flushed; nothing more comes
    const rebuilt = await createTestDatabase();
    extra.push(rebuilt);
    const r = await rebuildHistory({ js: jetstream(nc), jsm, store: new PgHistoryStore(rebuilt.sql), namespace: ns, ...streams });
    assert.equal(r.events, messages);
    assert.ok(r.ticks > 1_000 && r.marks > 100, `the market stream was read (${r.ticks} ticks, ${r.marks} minutes)`);
    const a = await tables(live.sql);
    const b = await tables(rebuilt.sql);
    for (const t of Object.keys(a)) assert.deepEqual(b[t], a[t], `${t}: rebuilt equals live`);
    const counts = Object.fromEntries(Object.entries(a).map(([k, v]) => [k, v.length]));
    for (const t of [
      'history_fills',
      'history_trades',
      'history_days',
      'history_points',
      'history_transitions',
      'history_marks',
      'violations',
    ])
      assert.ok(counts[t]! > 0, `${t} has rows (${JSON.stringify(counts)})`);
  });

  test("a tape cut from the market log and the journal replays each assessment's events as the history holds them", async () => {
    const jsm = await jetstreamManager(nc);
    const rows = await live.sql<{ assessment_id: string; n: number }[]>`
      select a.assessment_id, (select count(*)::int from violations v where v.assessment_id = a.assessment_id) as n
        from history_assessments a order by n desc, a.assessment_id limit 3`;
    assert.ok(rows[0]!.n > 0, 'an assessment with a violation is among them');
    for (const { assessment_id: id } of rows) {
      const tape = await cutTape({
        js: jetstream(nc),
        jsm,
        sql: live.sql,
        assessmentId: id,
        namespace: ns,
        marketStream: streams.marketStream,
      });
      const { events, engine } = await runInputs(tape, { workers: 1, tiers: presetTiers() });
      await engine.stop();
      const strip = (e: Record<string, unknown>): Record<string, unknown> => {
        const { input: _i, n: _n, ...rest } = e;
        return rest;
      };
      const replayed = events
        .filter((e) => e.assessmentId === id && eventSubject(e.type) !== undefined)
        .map((e) => strip(decodeJson(encodeJson(e)))); // as stored: undefined fields dropped
      const stored = (
        await live.sql<{ body: string }[]>`select body from history_events where assessment_id = ${id} order by input, n`
      ).map((r) => strip(decodeJson(r.body)));
      assert.deepEqual(replayed, stored, `${id}: the replay of its tape prints its events`);
    }
  });

  test('the same events delivered again, or shuffled and delivered twice, leave the same tables', async () => {
    const events = (await live.sql<{ body: string }[]>`select body from history_events order by assessment_id, input, n`).map((r) =>
      decodeJson<HistoryEvent>(r.body),
    );
    const expected = await tables(live.sql);
    delete expected['history_marks'];
    const again = new PgHistoryStore(live.sql);
    assert.deepEqual(await again.ingest(events), [], 'nothing is new');
    const afterRedelivery = await tables(live.sql);
    delete afterRedelivery['history_marks'];
    assert.deepEqual(afterRedelivery, expected);

    const shuffled = await createTestDatabase();
    extra.push(shuffled);
    const store = new PgHistoryStore(shuffled.sql);
    // A fixed permutation (reversed blocks of 97), in batches, each batch delivered twice.
    const order = events.map((_, i) => i).sort((x, y) => Math.floor(y / 97) - Math.floor(x / 97) || x - y);
    for (let k = 0; k < order.length; k += 500) {
      const batch = order.slice(k, k + 500).map((i) => events[i]!);
      await store.ingest(batch);
      await store.ingest(batch);
    }
    const got = await tables(shuffled.sql);
    delete got['history_marks'];
    for (const t of Object.keys(expected)) assert.deepEqual(got[t], expected[t], `${t}: out of order and twice equals in order and once`);
  });
});
