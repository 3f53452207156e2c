/**
 * The README's commands, walked as a newcomer pastes them: extracted from
 * README.md itself (engine/testing/readme-commands.ts), each classified by the
 * table below, and run in the README's order against the local services.
 *
 * - `run`: must exit 0 before its deadline.
 * - `server`: started, probed (its ready line, then an HTTP probe), left
 *   running for the commands after it (an assessment on the node), then
 *   stopped with SIGTERM and required to exit 0; its logs must show no
 *   market message skipped.
 * - `skip`: named with the reason, printed, never silently.
 *
 * A command no rule classifies fails the test, so a new README command must be
 * given a class. `npm test` runs the fast form; `npm run test:readme`
 * (README_WALK=full) also starts `npm start` and the cluster member.
 *
 * The commands run as written with two substitutions, so that a walk touches
 * only scratch state on the shared services: the database `vatic` becomes a
 * scratch database (dropped at the end), and the environment names a scratch
 * NATS namespace and streams (NATS_NAMESPACE, MARKET_STREAM, EVENT_STREAM,
 * which every command reads), ports 0, and a scratch DATA_DIR.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import postgres from 'postgres';
import { readmeCommands, type ReadmeCommand } from '../testing/readme-commands.js';
import { serviceGate } from '../testing/service-gate.js';
import { until } from '../testing/until.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const FULL = process.env['README_WALK'] === 'full';

type Class =
  | { readonly kind: 'run'; readonly deadlineS: number }
  | {
      readonly kind: 'server';
      readonly deadlineS: number;
      readonly ready: RegExp;
      readonly port: RegExp;
      readonly probe: string;
      readonly fast: boolean;
      /** What it says when it stopped cleanly. */
      readonly stopped?: RegExp;
      /** The part of the README line that is the server (`npm install` is the setup CI does). */
      readonly command?: string;
    }
  | { readonly kind: 'skip'; readonly reason: string };

const VENUE = /^npm run market-data -- --source (coinbase|binance|polymarket|kalshi)\b/;
/** Every README command's class: the first rule that matches. */
const RULES: ReadonlyArray<readonly [RegExp, Class]> = [
  [
    /^npm install && npm start$/,
    {
      kind: 'server',
      command: 'npm start',
      deadlineS: 180,
      ready: /gateway: .* on port \d+/,
      port: /on port (\d+)/,
      probe: '/healthz',
      fast: false,
    },
  ],
  [/^npm test$/, { kind: 'skip', reason: 'this walk runs inside it' }],
  [/^npm run lint$/, { kind: 'run', deadlineS: 120 }],
  [/^npm run format$/, { kind: 'skip', reason: 'rewrites files in place; npm run lint checks the same format' }],
  [/^npm run replay -- /, { kind: 'run', deadlineS: 120 }],
  [/^npm run bench -- /, { kind: 'skip', reason: 'a benchmark: minutes, measured beside its baseline (bench/README.md)' }],
  [/^npm run market-data -- --source tape /, { kind: 'run', deadlineS: 90 }],
  [
    VENUE,
    {
      kind: 'skip',
      reason: 'a live venue on the internet; transport/test/venue-cli.test.ts runs the connector against the venue simulators',
    },
  ],
  [
    /^npm run test:(venues-chaos|chaos|netfault|cluster|soak)\b/,
    { kind: 'skip', reason: 'a chaos or soak run of minutes; CI runs the short forms (.ci/run)' },
  ],
  [/^npm run migrate -- /, { kind: 'run', deadlineS: 90 }],
  [
    /^NATS_URL=\S+ DATABASE_URL=\S+ npm run serve$/,
    {
      kind: 'server',
      deadlineS: 120,
      ready: /vatic: engine node up/,
      port: /gateway {3}http:\/\/127\.0\.0\.1:(\d+)\//,
      probe: '/readyz',
      fast: true,
      stopped: /"msg":"stopped"/,
    },
  ],
  [/^npm run assessment -- create /, { kind: 'run', deadlineS: 60 }],
  [
    /^NODE_ID=\S+ ENGINE_ROLE=engine NATS_URL=\S+ DATABASE_URL=\S+ npm run serve$/,
    {
      kind: 'server',
      deadlineS: 180,
      ready: /vatic: engine node up/,
      port: /ops {7}http:\/\/127\.0\.0\.1:(\d+)\//,
      probe: '/livez',
      fast: false,
      stopped: /"msg":"stopped"/,
    },
  ],
  [
    /^NATS_URL=\S+ MARKET_STREAM=MARKET DATABASE_URL=\S+ npm run serve$/,
    { kind: 'skip', reason: 'the node of the first block again, fed by the live connector before it' },
  ],
  [
    /^npm run cluster -- /,
    { kind: 'skip', reason: 'an interactive session of five processes; npm run test:cluster drives the same roles' },
  ],
  [/^npm run sim -- /, { kind: 'run', deadlineS: 180 }],
  [
    /^DATABASE_URL=\S+ npm run history -- report /,
    {
      kind: 'skip',
      reason: 'needs a demo on that database first (npm start with DATABASE_URL); sim/test/report-pdf.test.ts prints a report',
    },
  ],
  [
    /^NATS_URL=\S+ DATABASE_URL=\S+ npm run history -- rebuild$/,
    { kind: 'skip', reason: 'persistence/test/history-rebuild.test.ts rebuilds behind a live node and compares every row' },
  ],
  [/^npm run fuzz:(http|ws) -- /, { kind: 'skip', reason: 'the long fuzz forms; npm test runs their seeded short forms' }],
];

function classify(c: ReadmeCommand): Class | undefined {
  return RULES.find(([re]) => re.test(c.command))?.[1];
}

/** A process group started through bash, with its output. */
interface Started {
  readonly out: () => string;
  readonly exited: Promise<number | null>;
  /** Every process of the group has let go of the output (they all ended). */
  readonly closed: Promise<void>;
  readonly stop: (signal: NodeJS.Signals) => void;
}

function start(command: string, env: NodeJS.ProcessEnv): Started {
  // Leading NAME=value words are the command's environment (as a shell reads them); the rest replaces bash,
  // so a signal reaches npm and its node directly and the exit code is theirs.
  const vars: Record<string, string> = {};
  let rest = command;
  for (let m = /^([A-Z_][A-Z0-9_]*)=(\S*)\s+/.exec(rest); m !== null; m = /^([A-Z_][A-Z0-9_]*)=(\S*)\s+/.exec(rest)) {
    vars[m[1]!] = m[2]!;
    rest = rest.slice(m[0].length);
  }
  const child = spawn('bash', ['-c', rest.includes('&&') ? rest : `exec ${rest}`], {
    cwd: ROOT,
    env: { ...env, ...vars },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  const keep = (b: Buffer) => {
    text += b.toString('utf8');
    if (text.length > 2_000_000) text = text.slice(-1_000_000); // a chatty server must not grow the test
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const closed = Promise.all([new Promise((r) => child.stdout.once('close', r)), new Promise((r) => child.stderr.once('close', r))]).then(
    () => undefined,
  );
  return {
    out: () => text,
    exited,
    closed,
    stop: (signal) => {
      try {
        process.kill(-child.pid!, signal);
      } catch {
        /* gone */
      }
    },
  };
}

const tail = (s: string) => s.split('\n').slice(-25).join('\n');
const race = <T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms).unref())]);

const natsSkip = await serviceGate('nats', '127.0.0.1', 4222);
const pgSkip = await serviceGate('postgres', '127.0.0.1', 5432);
const commands = readmeCommands(readFileSync(join(ROOT, 'README.md'), 'utf8'));

test('every command in the README has a class: run, server or skip with a reason', () => {
  assert.ok(commands.length > 20, 'the README has its command blocks');
  assert.deepEqual(
    commands.filter((c) => classify(c) === undefined).map((c) => `README.md:${c.line} ${c.command}`),
    [],
  );
});

describe('the README walked in order', { skip: natsSkip || pgSkip }, () => {
  const id = randomBytes(4).toString('hex');
  const database = `readme_${id}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'vatic-readme-'));
  const streams = [`README_${id}_MARKET`, `README_${id}_EVENTS`];
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NATS_NAMESPACE: `readme-${id}`,
    MARKET_STREAM: streams[0],
    EVENT_STREAM: streams[1],
    GATEWAY_PORT: '0',
    OPS_PORT: '0',
    SERVE_BANNER: 'on',
    DATA_DIR: dataDir,
    NODE_ENV: 'development',
  };
  const scratch = (command: string) => command.replace(/(postgres:\/\/\S*\/)vatic\b/g, `$1${database}`);
  const running: Array<{ readonly s: Started; readonly stopped: RegExp | undefined }> = [];

  // SIGTERM to the server's own process, as a supervisor sends it to PID 1: npm and tsx end with its code.
  // Without a pid in its output, to the whole group, as a terminal's Ctrl-C does.
  const stopAll = async (): Promise<void> => {
    for (const { s, stopped } of running.splice(0)) {
      const pid = /"pid":(\d+)|\(pid (\d+)\)/.exec(s.out());
      if (pid === null) s.stop('SIGTERM');
      else process.kill(Number(pid[1] ?? pid[2]), 'SIGTERM');
      const ended = await race(s.closed, 45_000);
      if (ended === 'timeout') s.stop('SIGKILL');
      assert.notEqual(ended, 'timeout', `the server ends within 45 s of SIGTERM:\n${tail(s.out())}`);
      if (stopped !== undefined) {
        assert.equal(await race(s.exited, 5_000), 0, `it exits 0:\n${tail(s.out())}`);
        assert.match(s.out(), stopped, `it says it stopped cleanly:\n${tail(s.out())}`);
      }
      assert.doesNotMatch(
        s.out(),
        /market message skipped|market input refused by the engine/,
        'the node used every market message the README published',
      );
    }
  };

  after(async () => {
    for (const { s } of running) s.stop('SIGKILL');
    const nc = await connect({ servers: '127.0.0.1:4222' });
    const jsm = await jetstreamManager(nc);
    for (const s of streams) await jsm.streams.delete(s).catch(() => false);
    await nc.close();
    const sql = postgres('postgres://postgres@127.0.0.1:5432/postgres', { max: 1, onnotice: () => {} });
    await sql.unsafe(`drop database if exists ${database} with (force)`).catch(() => undefined);
    await sql.end();
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const c of commands) {
    const cls = classify(c);
    if (cls === undefined) continue; // the classification test names it
    const name = `README.md:${c.line} ${c.command}`;
    if (cls.kind === 'skip') {
      test(name, { skip: cls.reason }, () => {});
      continue;
    }
    if (cls.kind === 'server' && !cls.fast && !FULL) {
      test(name, { skip: 'long form: npm run test:readme' }, () => {});
      continue;
    }
    test(name, { timeout: (cls.deadlineS + 60) * 1000 }, async () => {
      const command = scratch(cls.kind === 'server' ? (cls.command ?? c.command) : c.command);
      if (cls.kind === 'run') {
        const p = start(command, env);
        const code = await race(p.exited, cls.deadlineS * 1000);
        if (code === 'timeout') p.stop('SIGKILL');
        assert.notEqual(code, 'timeout', `hung: no exit within ${cls.deadlineS} s:\n${tail(p.out())}`);
        assert.equal(code, 0, `exit code ${code}:\n${tail(p.out())}`);
        return;
      }
      await stopAll(); // one server at a time: the next one replaces it
      const s = start(command, env);
      running.push({ s, stopped: cls.stopped });
      let exitedEarly: number | null | undefined;
      void s.exited.then((code) => {
        exitedEarly = code;
      });
      await until(() => cls.ready.test(s.out()) || exitedEarly !== undefined, {
        what: `ready line ${cls.ready}`,
        deadlineMs: cls.deadlineS * 1000,
        intervalMs: 100,
        detail: () => tail(s.out()),
      });
      assert.equal(exitedEarly, undefined, `the server exited with ${exitedEarly} before it was ready:\n${tail(s.out())}`);
      const port = cls.port.exec(s.out())?.[1];
      assert.ok(port !== undefined, `it says where it listens (${cls.port}):\n${tail(s.out())}`);
      const res = await fetch(`http://127.0.0.1:${port}${cls.probe}`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 200, `${cls.probe} answers 200`);
    });
  }

  test('every server the walk started stops cleanly', { timeout: 120_000 }, async () => {
    await stopAll();
  });
});
