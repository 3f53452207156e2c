import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { shardOf } from '../../engine/index.js';
import { serviceGate } from '../../engine/testing/index.js';
import { leaderboardSubject, shardSubjects, streamSubject } from '../nats/shard-subjects.js';
import { startWorld, type Owner, type RouteWorld } from './route-harness.js';
import { until } from '../../engine/testing/index.js';

const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));

describe('hostile requests on the shard subjects, and hostile frames on a stream', { skip }, () => {
  let w: RouteWorld;
  let owner: Owner;
  const id = 'h-alice';
  const v = shardOf(id);
  const other = Array.from({ length: 100 }, (_, i) => `x${i}`).find((x) => shardOf(x) !== v)!;
  const refused: Array<[string, string]> = [];
  before(async () => {
    w = await startWorld();
    owner = await w.startOwner('h1', {
      maxRequestBytes: 2_048,
      maxWatchesPerGateway: 3,
      maxGateways: 3,
      onMalformed: (kind, reason) => void refused.push([kind, reason]),
    });
    await until(() => owner.node.servedShards().size === 1024, { what: 'the node to serve every shard', deadlineMs: 60_000 });
    assert.ok((await owner.node.offer({ kind: 'create', assessmentId: id, traderId: 'alice', tierId: 'one-step-50k' })).ok);
  });
  after(async () => {
    await w?.stop();
  });

  const ask = async (subject: string, payload: Uint8Array): Promise<{ ok: boolean; code?: string; message?: string }> =>
    decode((await w.nc.request(subject, payload, { timeout: 10_000 })).data) as { ok: boolean; code?: string; message?: string };

  test('malformed msgpack, oversized, ill-typed and misrouted requests get a coded answer, nothing is journaled, and the owner goes on serving', async () => {
    const s = shardSubjects(v, w.namespace);
    const [before] = await w.db.sql<{ n: number }[]>`select count(*)::int as n from journal`;
    const cases: Array<[string, Uint8Array, string, RegExp]> = [
      [s.intake, new Uint8Array([0xc1, 0x00, 0xff]), 'MALFORMED_REQUEST', /msgpack/i],
      [s.intake, new Uint8Array([0xd4, 0x01, 0x02]), 'MALFORMED_REQUEST', /msgpack|ext/i], // an extension type
      [s.intake, encode([1, 2, 3]), 'MALFORMED_REQUEST', /not a msgpack map/],
      [s.intake, encode('just a string'), 'MALFORMED_REQUEST', /not a msgpack map/],
      [s.intake, encode({ kind: 'command', assessmentId: 7 }), 'MALFORMED_REQUEST', /assessmentId/],
      [s.intake, encode({ kind: 'command', assessmentId: 'x'.repeat(129) }), 'MALFORMED_REQUEST', /assessmentId/],
      [s.intake, encode({ kind: 'teleport', assessmentId: id }), 'MALFORMED_REQUEST', /kind/],
      [
        s.intake,
        encode({ kind: 'command', assessmentId: other, command: { kind: 'flatten' } }),
        'MALFORMED_REQUEST',
        new RegExp(`is in shard ${shardOf(other)}, not ${v}`),
      ],
      [
        s.intake,
        encode({ kind: 'command', assessmentId: id, command: { kind: 'place', note: 'x'.repeat(4_000) } }),
        'MALFORMED_REQUEST',
        /the limit is 2048/,
      ],
      [s.intake, encode({ kind: 'command', assessmentId: id, command: { kind: 'place', qty: 'lots' } }), 'INVALID_COMMAND', /./],
      [s.state, encode({ assessmentId: id, gateway: 'spaces are not allowed' }), 'MALFORMED_REQUEST', /gateway/],
      [s.state, encode({ assessmentId: ['a'] }), 'MALFORMED_REQUEST', /assessmentId/],
      [s.watch, encode({ gateway: 'gw-1', assessmentIds: 'h-alice' }), 'MALFORMED_REQUEST', /assessmentIds/],
      [s.watch, encode({ gateway: 'gw-1', assessmentIds: [] }), 'MALFORMED_REQUEST', /assessmentIds/],
      [
        s.watch,
        encode({ gateway: 'gw-1', assessmentIds: Array.from({ length: 1_025 }, () => 'a') }),
        'MALFORMED_REQUEST',
        /msgpack|limit/i,
      ],
      [s.watch, encode({ gateway: 'gw-1', assessmentIds: [id, other] }), 'MALFORMED_REQUEST', /is in shard/],
      [leaderboardSubject(w.namespace), encode({ n: 1e9 }), 'MALFORMED_REQUEST', /"n"/],
      [leaderboardSubject(w.namespace), encode({ n: 'ten' }), 'MALFORMED_REQUEST', /"n"/],
    ];
    for (const [subject, payload, code, why] of cases) {
      const r = await ask(subject, payload);
      assert.ok(!r.ok && r.code === code && why.test(r.message ?? ''), `${subject}: ${JSON.stringify(r)}`);
    }
    // Published without a reply subject: nobody would read an answer, so nothing is done.
    w.nc.publish(
      s.intake,
      encode({
        kind: 'command',
        assessmentId: id,
        command: {
          kind: 'place',
          clientOrderId: 'fire-and-forget',
          symbol: 'BTC-USD',
          side: 'buy',
          type: 'market',
          qty: 0.1,
          stopLoss: 59_000,
        },
      }),
    );
    await until(() => refused.some(([, reason]) => /reply subject/.test(reason)), {
      what: 'the request without a reply subject to be refused',
      deadlineMs: 20_000,
    });
    const [afterCount] = await w.db.sql<{ n: number }[]>`select count(*)::int as n from journal`;
    assert.equal(afterCount!.n, before!.n, 'nothing was journaled');
    assert.ok(refused.length >= cases.length - 1, 'each malformed request is reported');
    const ok = await ask(
      s.intake,
      encode({
        kind: 'command',
        assessmentId: id,
        command: { kind: 'place', clientOrderId: 'good', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1, stopLoss: 59_000 },
      }),
    );
    assert.equal(ok.ok, true, 'the owner still serves');
    assert.equal(owner.node.fault, undefined);
  });

  test("frames on a stream subject that are not the owner's live frames are dropped and counted by the gateway, which goes on relaying", async () => {
    const gw = await w.startGateway({ deadlineMs: 10_000 });
    const alice = await gw.connect('alice');
    const events: unknown[] = [];
    await alice.subscribe(id, { onEvent: (e) => void events.push(e) });
    const subject = streamSubject(id, w.namespace);
    for (const junk of [
      new Uint8Array([0xc1]),
      encode({ t: 'event', assessmentId: 'someone-else', epoch: 1, seq: 1, event: {} }),
      encode([1, 2]),
      new Uint8Array(300_000),
    ])
      w.nc.publish(subject, junk);
    await until(() => gw.streams.malformed >= 4, { what: 'the junk to be counted', deadlineMs: 20_000 });
    await alice.order(id, {
      op: 'place',
      clientOrderId: 'after-junk',
      symbol: 'BTC-USD',
      side: 'buy',
      type: 'market',
      qty: 0.1,
      stopLoss: 59_000,
    });
    await until(() => events.length > 0, { what: "the order's events to arrive", deadlineMs: 20_000 });
    alice.close();
    await gw.stop();
  });

  test('watch leases are bounded per gateway and per node, and a refusal says so', async () => {
    const s = shardSubjects(v, w.namespace);
    const ids = Array.from({ length: 20_000 }, (_, i) => `w${i}`)
      .filter((x) => shardOf(x) === v)
      .slice(0, 4);
    const first = await ask(s.watch, encode({ gateway: 'gw-a', assessmentIds: ids.slice(0, 3) }));
    assert.equal(first.ok, true);
    const over = await ask(s.watch, encode({ gateway: 'gw-a', assessmentIds: [ids[3]] }));
    assert.ok(!over.ok && over.code === 'TOO_MANY_WATCHES' && /at most 3/.test(over.message ?? ''), JSON.stringify(over));
    assert.equal(
      (await ask(s.watch, encode({ gateway: 'gw-a', assessmentIds: ids.slice(0, 3) }))).ok,
      true,
      'a renewal of the leases held is no new lease',
    );
    // Fill the node's gateway slots (a gateway of an earlier test may hold one).
    for (let k = owner.service.publisher.gateways; k < 3; k++)
      assert.equal((await ask(s.watch, encode({ gateway: `gw-fill-${k}`, assessmentIds: [ids[0]] }))).ok, true);
    const more = await ask(s.watch, encode({ gateway: 'gw-more', assessmentIds: [ids[0]] }));
    assert.ok(!more.ok && more.code === 'TOO_MANY_WATCHES' && /3 gateways/.test(more.message ?? ''), JSON.stringify(more));
    const snapshot = await ask(s.state, encode({ assessmentId: ids[3], gateway: 'gw-more' }));
    assert.equal(snapshot.code, 'TOO_MANY_WATCHES', 'a snapshot takes a lease too');
    assert.ok(owner.service.publisher.streams <= 5);
  });
});
