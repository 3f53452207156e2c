/**
 * The Ray path: the TypeScript client against the Python kernel served over
 * loopback HTTP with the Serve route's request and response shapes
 * (deploy/ray/loopback_server.py), and against servers that fail in each way
 * the client must survive. Ray itself is not installable here; its Serve
 * application calls the same handler (deploy/ray/serve_app.py).
 *
 * Agreement with the local pool is statistical (the two draw different random
 * numbers): for each outcome, the two shares must be within 4 standard errors
 * of their difference, sqrt(p(1−p)(1/n₁ + 1/n₂)); the mean drawdowns within 4
 * standard errors too. A false alarm is a ~6e-5 event per comparison.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { presetTiers } from '../../actors/index.js';
import { compilePhases } from '../montecarlo/compile-tier.js';
import { RaySimulator } from '../montecarlo/ray-client.js';
import { SimPool } from '../montecarlo/sim-pool.js';
import { OUTCOMES, type SimulationJobInput } from '../montecarlo/simulation-spec.js';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
if (!hasNumpy && process.env.CI === 'true') throw new Error('CI needs python3 with NumPy (apt-get install python3-numpy)');
const SERVER = fileURLToPath(new URL('../../deploy/ray/loopback_server.py', import.meta.url));

const pool = new SimPool({ workers: 2 });
after(() => pool.close());

const returns = Array.from({ length: 200 }, (_, i) =>
  (i * 7919) % 100 < 52 ? 0.002 + ((i * 31) % 10) / 1000 : -(0.002 + ((i * 17) % 8) / 1000),
);
const jobs: [string, SimulationJobInput][] = [
  [
    'two-step, IID, 100 trades',
    {
      seed: 'r1',
      paths: 60_000,
      method: 'iid',
      returns,
      tradesPerDay: [0, 1, 2, 4],
      horizon: { trades: 100 },
      phases: compilePhases(presetTiers().find((t) => t.id === 'two-step-100k')!),
    },
  ],
  [
    'one-step (EOD trailing, consistency), block, 40 days',
    {
      seed: 'r2',
      paths: 60_000,
      method: 'block',
      returns,
      tradesPerDay: [0, 2, 3, 5],
      horizon: { days: 40 },
      phases: compilePhases(presetTiers().find((t) => t.id === 'one-step-50k')!),
    },
  ],
  [
    'intraday trailing, soft daily, compound',
    {
      seed: 'r3',
      paths: 60_000,
      method: 'iid',
      sizing: 'compound',
      returns: returns.map((r) => r * 2),
      tradesPerDay: [1, 3, 6],
      horizon: { days: 30 },
      phases: compilePhases(presetTiers().find((t) => t.id === 'intraday-trail-50k')!),
    },
  ],
];

describe('the Python kernel behind the Serve route', { skip: hasNumpy ? false : 'python3 with NumPy is not installed' }, () => {
  let server: ChildProcess;
  let url: string;
  before(async () => {
    server = spawn('python3', [SERVER, '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout! }).once('line', resolve);
      server.once('exit', (code) => reject(new Error(`loopback server exited with ${code}`)));
    });
    url = /listening on (\S+)/.exec(line)![1]!;
  });
  after(() => server?.kill());

  for (const [name, job] of jobs) {
    test(`agrees statistically with the local pool: ${name}`, async () => {
      let fellBack = '';
      const ray = new RaySimulator({ url, fallback: pool, onFallback: (why) => (fellBack = why) });
      const [remote, local] = await Promise.all([ray.run(job), pool.run(job)]);
      assert.equal(fellBack, '');
      assert.equal(remote.engine, 'ray');
      assert.equal(local.engine, 'local');
      assert.equal(remote.paths, local.paths);
      for (const o of OUTCOMES) {
        const a = remote.breakdown[o].p;
        const b = local.breakdown[o].p;
        const p = (a + b) / 2;
        const se = Math.sqrt((p * (1 - p) * 2) / local.paths);
        assert.ok(Math.abs(a - b) <= 4 * se + 1e-12, `${o}: Ray ${a.toFixed(4)} vs local ${b.toFixed(4)} (4 SE = ${(4 * se).toFixed(4)})`);
      }
      const [rdd, ldd] = [remote.maxDrawdown!, local.maxDrawdown!];
      const seDd = Math.sqrt((rdd.std ** 2 + ldd.std ** 2) / local.paths);
      assert.ok(Math.abs(rdd.mean - ldd.mean) <= 4 * seDd, `mean drawdown: Ray ${rdd.mean} vs local ${ldd.mean}`);
      if (job.method === 'block')
        assert.ok(
          Math.abs(remote.blockLength! - local.blockLength!) < 1e-9,
          `block length: Ray ${remote.blockLength} vs local ${local.blockLength}`,
        );
    });
  }

  test('a method the cluster does not run goes to the local pool, with the reason', async () => {
    let reason = '';
    const ray = new RaySimulator({ url, fallback: pool, onFallback: (why) => (reason = why) });
    const r = await ray.run({
      seed: 'p',
      paths: 500,
      method: 'parametric',
      tradesPerDay: [1],
      model: { mu: 0.1, sigma: 0.5, exposure: 1, holdDays: 1 },
      horizon: { days: 10 },
      phases: jobs[0]![1].phases,
    });
    assert.equal(r.engine, 'local');
    assert.match(reason, /UNSUPPORTED_METHOD/);
  });
});

describe('a failing cluster', () => {
  let server: Server;
  let base: string;
  let hits = 0;
  let mode: 'error' | 'hang' | 'garbage' = 'error';
  before(async () => {
    server = createServer((req, res) => {
      hits++;
      req.resume();
      if (mode === 'error')
        res.writeHead(503, { 'content-type': 'application/json' }).end('{"error":{"code":"OVERLOADED","message":"no replica"}}');
      else if (mode === 'garbage') res.writeHead(200, { 'content-type': 'application/json' }).end('{"paths": "many"}');
      // 'hang': never answers
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  const small = { ...jobs[0]![1], paths: 300 };

  test('5xx answers are retried with backoff, then the local pool runs the job', async () => {
    mode = 'error';
    hits = 0;
    let reason = '';
    const r = await new RaySimulator({ url: base, fallback: pool, retries: 2, backoffMs: 10, onFallback: (why) => (reason = why) }).run(
      small,
    );
    assert.equal(hits, 3);
    assert.equal(r.engine, 'local');
    assert.match(reason, /HTTP 503: OVERLOADED/);
  });

  test('a cluster that does not answer in time is abandoned for the local pool', async () => {
    mode = 'hang';
    let reason = '';
    const r = await new RaySimulator({
      url: base,
      fallback: pool,
      retries: 1,
      backoffMs: 10,
      timeoutMs: 200,
      onFallback: (why) => (reason = why),
    }).run(small);
    assert.equal(r.engine, 'local');
    assert.match(reason, /no answer within 200 ms/);
  });

  test('a malformed result is not trusted', async () => {
    mode = 'garbage';
    let reason = '';
    const r = await new RaySimulator({ url: base, fallback: pool, onFallback: (why) => (reason = why) }).run(small);
    assert.equal(r.engine, 'local');
    assert.match(reason, /malformed result/);
  });

  test('an unreachable cluster without a fallback is a clear error', async () => {
    await assert.rejects(
      new RaySimulator({ url: 'http://127.0.0.1:9', retries: 0 }).run(small),
      /Ray Serve at http:\/\/127\.0\.0\.1:9: cannot reach it/,
    );
  });
});
