/**
 * The image's stages and what they run: `npm run build` compiles a dist/ that
 * starts on its own (every role's entry, serve answering /readyz against the
 * local services, migrations applied), and gives the same replay as the tsx
 * path. Where a Docker engine answers, the image itself is built.
 */
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import postgres from 'postgres';
import { IMAGE_ROLES } from '../../engine/main/image-roles.js';
import { SERVER_V8_FLAGS } from '../../engine/main/server-flags.js';
import { testServerUrl } from '../../engine/testing/index.js';
import { ROOT } from './rendered-manifests.js';
import { until } from '../../engine/testing/index.js';

const DOCKERFILE = readFileSync(`${ROOT}deploy/Dockerfile`, 'utf8');
const ENTRY = 'dist/engine/main/image-entry.js';
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
/** `run` without blocking, so several replays share the cores. */
const runAsync = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, args, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ status: err === null ? 0 : ((err.code as number | undefined) ?? 1), stdout, stderr }),
    );
  });

/** The Dockerfile's stages: name → its instructions. */
function stages(): Map<string, string[]> {
  const out = new Map<string, string[]>();
  let current: string[] | undefined;
  for (const line of DOCKERFILE.split('\n')) {
    const from = /^FROM \S+ AS (\S+)$/.exec(line);
    if (from !== null) out.set(from[1]!, (current = []));
    else if (current !== undefined && /^[A-Z]+ /.test(line)) current.push(line);
  }
  return out;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise((r) => s.close(r));
  return port;
}

/** Poll until `url` answers 200 or the process exits or the deadline passes. */
async function answers(url: string, proc: ChildProcess, deadlineMs: number): Promise<number | string> {
  let last: number | string = 'no answer';
  await until(
    async () => {
      if (proc.exitCode !== null) return true;
      last = await fetch(url).then(
        (r) => r.status,
        (e: Error) => e.message,
      );
      return last === 200;
    },
    { what: `${url} to answer 200`, deadlineMs, intervalMs: 250 },
  ).catch(() => undefined); // the caller asserts what it last answered
  return proc.exitCode === null ? last : `exited ${proc.exitCode}`;
}

describe('the image', () => {
  const tapes = readdirSync(`${ROOT}tapes`).filter((f) => f.endsWith('.jsonl'));
  // The tsx replays need no build: they run while it compiles. One worker: the
  // output is the same for any count (engine/main/replay.ts).
  const sourceReplays = new Map<string, ReturnType<typeof runAsync>>();
  before(async () => {
    for (const tape of tapes)
      sourceReplays.set(tape, runAsync(['--import', 'tsx', 'engine/main/replay.ts', `tapes/${tape}`, '--workers', '1']));
    const b = await new Promise<{ code: number | null; out: string }>((resolve) => {
      execFile('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' }, (err, stdout, stderr) =>
        resolve({ code: err === null ? 0 : 1, out: stdout + stderr }),
      );
    });
    assert.equal(b.code, 0, `npm run build failed:\n${b.out}`);
  });

  test('compiles in one stage and runs compiled JavaScript in another, as a non-root user with the server V8 flags', () => {
    const s = stages();
    assert.deepEqual([...s.keys()], ['deps', 'build', 'runtime']);
    assert.ok(s.get('deps')!.includes('RUN npm ci --omit=dev --no-audit --no-fund'), 'production dependencies only');
    assert.ok(s.get('build')!.includes('RUN npm run build'), 'the build stage runs npm run build');
    const runtime = s.get('runtime')!;
    assert.ok(
      runtime.includes('COPY --from=build /app/dist ./dist') && runtime.includes('COPY --from=deps /app/node_modules ./node_modules'),
    );
    assert.ok(runtime.includes('USER node'), 'runs as node (uid 1000)');
    assert.ok(!runtime.some((l) => /tsx|COPY (engine|transport|actors|persistence|sim) /.test(l)), 'no sources, no tsx at run time');
    const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(DOCKERFILE)![1]!) as string[];
    assert.deepEqual(entrypoint, ['node', ...SERVER_V8_FLAGS, ENTRY]);
    // Everything tsconfig.build.json compiles is copied into the build stage.
    const copied = s.get('build')!.map((l) => /^COPY (\S+) /.exec(l)?.[1]);
    for (const dir of ['actors', 'engine', 'transport', 'persistence', 'sim']) assert.ok(copied.includes(dir), `COPY ${dir}`);
    const ignore = readFileSync(`${ROOT}.dockerignore`, 'utf8').split('\n');
    for (const p of ['**/node_modules', 'dist', '.git']) assert.ok(ignore.includes(p), `.dockerignore leaves out ${p}`);
  });

  test('has a compiled entry for every role, and refuses an unknown one with the list', () => {
    for (const [name, role] of Object.entries(IMAGE_ROLES)) {
      const file = new URL(role.entry, new URL(`../../${ENTRY}`, import.meta.url));
      assert.ok(existsSync(file), `${name}: ${file.pathname} is built`);
    }
    const r = run([ENTRY, 'nonsense']);
    assert.equal(r.status, 64);
    assert.match(r.stderr, /'nonsense' is not a role/);
    assert.match(r.stderr, /market-data/);
    const conflict = run([ENTRY, 'gateway'], { ENGINE_ROLE: 'engine' });
    assert.equal(conflict.status, 64);
    assert.match(conflict.stderr, /ENGINE_ROLE is 'engine'/);
  });

  test('replays every example tape exactly as the tsx path does', async () => {
    assert.ok(tapes.length >= 5, `${tapes.length} tapes`);
    await Promise.all(
      tapes.map(async (tape) => {
        const [compiled, source] = await Promise.all([
          runAsync(['dist/engine/main/replay.js', `tapes/${tape}`, '--workers', '1']),
          sourceReplays.get(tape)!,
        ]);
        assert.equal(compiled.status, 0, `${tape}: ${compiled.stderr}`);
        assert.equal(source.status, 0, `${tape}: ${source.stderr}`);
        assert.ok(compiled.stdout.length > 0, tape);
        assert.equal(compiled.stdout, source.stdout, `${tape}: compiled and tsx replays differ`);
      }),
    );
    const viaImage = run([ENTRY, 'replay', `tapes/${tapes[0]}`]);
    assert.equal(viaImage.stdout, run(['dist/engine/main/replay.js', `tapes/${tapes[0]}`]).stdout, 'the replay role is the same replay');
  });

  describe('against the local services', () => {
    const id = randomBytes(4).toString('hex');
    const dbName = `vatic_deploy_${id}`;
    const admin = postgres(testServerUrl(), { max: 1, onnotice: () => {} });
    const dbUrl = Object.assign(new URL(testServerUrl()), { pathname: `/${dbName}` }).toString();
    const streams = { MARKET_STREAM: `DEPLOY_${id}_MARKET`, EVENT_STREAM: `DEPLOY_${id}_EVENTS` };
    const namespace = `deploy${id}`;
    before(async () => {
      await admin.unsafe(`create database ${dbName}`);
    });
    after(async () => {
      const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
      const jsm = await jetstreamManager(nc);
      for (const s of Object.values(streams)) await jsm.streams.delete(s).catch(() => undefined);
      await nc.close();
      await admin.unsafe(`drop database if exists ${dbName} with (force)`);
      await admin.end({ timeout: 5 });
    });

    test('the migrate role applies the schema to an empty database, then finds it up to date', () => {
      const first = run([ENTRY, 'migrate', '--url', dbUrl]);
      assert.equal(first.status, 0, first.stderr);
      assert.match(first.stdout, /applied\s+0001_init\.sql/);
      const again = run([ENTRY, 'migrate'], { DATABASE_URL: dbUrl });
      assert.equal(again.status, 0, again.stderr);
      assert.match(again.stdout, /schema is up to date/);
    });

    test('the market-data role publishes a tape to JetStream', async () => {
      const r = run([
        ENTRY,
        'market-data',
        '--source',
        'tape',
        '--tape',
        'tapes/trailing-lock.jsonl',
        '--speed',
        '1000000',
        '--stream',
        streams.MARKET_STREAM,
        '--namespace',
        namespace,
      ]);
      assert.equal(r.status, 0, r.stderr);
      const nc = await connect({ servers: 'nats://127.0.0.1:4222' });
      const info = await (await jetstreamManager(nc)).streams.info(streams.MARKET_STREAM);
      await nc.close();
      assert.ok(info.state.messages > 0, 'ticks are in the stream');
    });

    test('compiled serve starts on NATS and Postgres, answers /readyz, and stops cleanly on SIGTERM', async () => {
      const port = await freePort();
      const proc = spawn(process.execPath, [...SERVER_V8_FLAGS, ENTRY, 'all'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
        env: {
          ...process.env,
          NATS_URL: 'nats://127.0.0.1:4222',
          DATABASE_URL: dbUrl,
          NATS_NAMESPACE: namespace,
          ...streams,
          GATEWAY_PORT: String(port),
          GATEWAY_HOST: '127.0.0.1',
          ENGINE_WORKERS: '1',
          SIM_WORKERS: '1',
          CLOCK_BEAT: 'off',
          LOG_LEVEL: 'warn',
        },
      });
      let output = '';
      proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
      proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
      try {
        assert.equal(await answers(`http://127.0.0.1:${port}/readyz`, proc, 60_000), 200, output);
        assert.doesNotMatch(output, /without the server V8 flags/);
      } finally {
        const exited = new Promise<number | null>((r) => (proc.exitCode !== null ? r(proc.exitCode) : proc.once('exit', (c) => r(c))));
        proc.kill('SIGTERM');
        assert.equal(await exited, 0, output);
      }
    });

    // The engine and gateway roles of serve arrive with the scale-out work (issue 12): checked once serve reads ENGINE_ROLE.
    const roles = /env\.ENGINE_ROLE/.test(readFileSync(`${ROOT}engine/main/serve.ts`, 'utf8'))
      ? false
      : 'serve does not read ENGINE_ROLE yet';
    for (const [role, portVar, path] of [
      ['engine', 'OPS_PORT', '/readyz'],
      ['gateway', 'GATEWAY_PORT', '/readyz'],
    ] as const) {
      test(`the ${role} role answers ${path} on ${portVar} and stops cleanly on SIGTERM`, { skip: roles }, async () => {
        const port = await freePort();
        const proc = spawn(process.execPath, [...SERVER_V8_FLAGS, ENTRY, role], {
          cwd: ROOT,
          stdio: ['ignore', 'pipe', 'pipe'],
          env: {
            ...process.env,
            NATS_URL: 'nats://127.0.0.1:4222',
            DATABASE_URL: dbUrl,
            NATS_NAMESPACE: namespace,
            ...streams,
            OPS_PORT: role === 'engine' ? String(port) : 'off',
            GATEWAY_PORT: role === 'gateway' ? String(port) : 'off',
            GATEWAY_HOST: '127.0.0.1',
            ENGINE_WORKERS: '1',
            SIM_WORKERS: '1',
            CLOCK_BEAT: 'off',
            LOG_LEVEL: 'warn',
          },
        });
        let output = '';
        proc.stdout!.on('data', (d: Buffer) => (output += d.toString()));
        proc.stderr!.on('data', (d: Buffer) => (output += d.toString()));
        try {
          assert.equal(await answers(`http://127.0.0.1:${port}${path}`, proc, 60_000), 200, output);
        } finally {
          const exited = new Promise<number | null>((r) => (proc.exitCode !== null ? r(proc.exitCode) : proc.once('exit', (c) => r(c))));
          proc.kill('SIGTERM');
          assert.equal(await exited, 0, output);
        }
      });
    }
  });

  test('builds with Docker where a Docker engine runs', {
    skip: spawnSync('docker', ['info'], { encoding: 'utf8' }).status === 0 ? false : 'no Docker engine here',
  }, () => {
    execFileSync('docker', ['build', '-f', 'deploy/Dockerfile', '-t', 'vatic-engine:test', '.'], { cwd: ROOT, stdio: 'inherit' });
    const out = execFileSync('docker', ['run', '--rm', 'vatic-engine:test', 'replay', 'tapes/trailing-lock.jsonl'], { encoding: 'utf8' });
    assert.equal(out, run(['dist/engine/main/replay.js', 'tapes/trailing-lock.jsonl']).stdout);
  });
});
