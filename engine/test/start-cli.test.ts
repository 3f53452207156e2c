/**
 * `npm start` end to end: the real CLI in a child process (worker threads,
 * synthetic feed, bots), stopped by `--duration` or by a signal; and the
 * demo's bot traders in-process against one shard kernel.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import WebSocket from 'ws';
import { DEFAULT_INSTRUMENTS, presetTiers, type Quote } from '../../actors/index.js';
import { BotTraders, Random, type BotCommand } from '../../sim/index.js';
import { VaticClient, type SocketConstructor } from '../../transport/client/index.js';
import { SyntheticFeed } from '../../transport/market-data/index.js';
import type { EngineInput, OutputEvent } from '../inputs.js';
import { STORY_IDS } from '../main/demo-stories.js';
import { ShardKernel } from '../shard-kernel.js';
import { until } from '../testing/until.js';

const CWD = new URL('../../', import.meta.url);
/** Generous: tsx compiles the CLI and each worker on first use. */
const LIMIT_MS = 90_000;

interface Line {
  readonly type: string;
  readonly pid?: number;
  readonly ticks?: number;
  readonly fills?: number;
  readonly shards?: ReadonlyArray<{ readonly actors: number }>;
  readonly gatewayPort?: number | null;
  readonly consoleUrl?: string | null;
}

interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly lines: Line[];
  readonly stderr: string;
}

/**
 * Spawn the CLI with `--json`; `onLine` may act on each parsed stdout line (`pid` is the process group's).
 * Resolves when the process exits; rejects (after killing it) past {@link LIMIT_MS}.
 */
function runCli(args: readonly string[], onLine?: (line: Line, pid: number) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    // Its own process group, so a timeout can kill npx, tsx and the engine together.
    const child = spawn('npx', ['tsx', 'engine/main/start.ts', ...args, '--json'], {
      cwd: CWD,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const lines: Line[] = [];
    let buffer = '';
    let stderr = '';
    const timer = setTimeout(() => {
      process.kill(-child.pid!, 'SIGKILL');
      reject(
        new Error(
          `start.ts did not exit within ${LIMIT_MS} ms; stdout so far:\n${lines.map((l) => JSON.stringify(l)).join('\n')}\nstderr:\n${stderr}`,
        ),
      );
    }, LIMIT_MS);
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buffer += d;
      let nl: number;
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const text = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        let line: Line;
        try {
          line = JSON.parse(text) as Line;
        } catch {
          line = { type: `not JSON: ${text}` }; // every stdout line must be JSON in --json mode
        }
        lines.push(line);
        onLine?.(line, child.pid!);
      }
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, lines, stderr });
    });
  });
}

/** npm and tsx print their own notices on stderr; anything from the CLI itself is prefixed `start:`. */
function cliErrors(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('start:'));
}

test('--duration stops by itself with exit 0 after printing per-second summaries with ticks and fills, then a final one', async () => {
  const run = await runCli(['--assessments', '300', '--duration', '4']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(cliErrors(run.stderr), []);
  assert.deepEqual(
    run.lines.filter((l) => !['config', 'summary', 'final'].includes(l.type)),
    [],
  );
  assert.equal(run.lines[0]?.type, 'config');
  const summaries = run.lines.filter((l) => l.type === 'summary');
  assert.ok(summaries.length >= 2, `expected per-second summaries, got ${summaries.length}`);
  const final = run.lines.at(-1)!;
  assert.equal(final.type, 'final');
  assert.ok(
    summaries.some((l) => (l.ticks ?? 0) > 0),
    'a summary reports ticks',
  );
  assert.ok((final.ticks ?? 0) > 0, 'ticks were published');
  assert.ok((final.fills ?? 0) > 0, 'bot orders filled');
  assert.equal(
    final.shards?.reduce((n, s) => n + s.actors, 0),
    300 + STORY_IDS.length,
    "every demo assessment (and each story of the console's trader) lives on a shard",
  );
});

test('the running demo pushes live deltas to a subscribed trader and ranks the accounts on the leaderboard', async () => {
  type Delta = { assessmentId: string; equity: number; startingBalance: number };
  const deltas: Delta[] = [];
  let board: Array<{ assessmentId: string; returnPct: number; rank: number }> = [];
  let probe: Promise<void> | undefined, config: Line | undefined;
  const run = await runCli(['--assessments', '200', '--duration', '12', '--port', '0'], (line) => {
    if (line.type === 'config') config = line;
    // The accounts exist once the summaries start.
    if (line.type !== 'summary' || probe !== undefined || config === undefined) return;
    probe = (async () => {
      const base = `127.0.0.1:${config!.gatewayPort}`,
        token = new URL(config!.consoleUrl!).hash.replace('#token=', '');
      const client = await VaticClient.connect(`ws://${base}/v1/ws`, token, {
        WebSocket: WebSocket as unknown as SocketConstructor,
        protocol: 'vatic.v1.msgpack',
      });
      await client.subscribe('demo-000001', { onDelta: (d) => deltas.push(d as Delta) });
      await until(
        async () => {
          board = ((await (await fetch(`http://${base}/v1/leaderboard?n=100`)).json()) as { leaderboard: typeof board }).leaderboard;
          return deltas.length >= 3 && board.length > 0;
        },
        { what: 'three deltas and a leaderboard', deadlineMs: 8_000, intervalMs: 250 },
      ).catch(() => undefined); // what arrived is asserted below
      client.close();
    })();
  });
  await probe;
  assert.equal(run.code, 0, run.stderr);
  assert.ok(deltas.length >= 3, `deltas for the subscribed assessment: ${deltas.length}`);
  for (const d of deltas) {
    assert.equal(d.assessmentId, 'demo-000001');
    assert.ok(Number.isFinite(d.equity) && d.startingBalance > 0, JSON.stringify(d));
  }
  assert.ok(board.length > 0, 'the leaderboard has accounts');
  assert.deepEqual(
    board.map((e) => e.rank),
    board.map((_, k) => k + 1),
  );
  for (const e of board) assert.match(e.assessmentId, /^demo-(\d{6}|story-(pass|fail))$/);
  assert.ok(
    board.every((e, k) => k === 0 || board[k - 1]!.returnPct >= e.returnPct),
    'best return first',
  );
});

test('SIGINT to the engine process stops it cleanly: a final summary and exit code 0', async () => {
  let enginePid: number | undefined;
  let sent = false;
  const run = await runCli(['--assessments', '300'], (line) => {
    // The signal goes to the engine's own process, past the npx and tsx wrappers.
    if (line.type === 'config') enginePid = line.pid;
    if (line.type !== 'summary' || sent || enginePid === undefined) return;
    sent = true;
    process.kill(enginePid, 'SIGINT');
  });
  assert.ok(sent, 'a summary was printed before the signal');
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(cliErrors(run.stderr), []);
  assert.equal(run.lines.at(-1)?.type, 'final');
});

test('Ctrl-C at a terminal (SIGINT to the whole process group, relayed again by tsx) still prints one final summary', async () => {
  let sent = false;
  const run = await runCli(['--assessments', '300'], (line, group) => {
    if (line.type !== 'summary' || sent) return;
    sent = true;
    process.kill(-group, 'SIGINT');
  });
  assert.ok(sent);
  // npm re-raises a SIGINT it received once its child is done, so the wrapper's own status is npm's choice.
  assert.ok(run.code === 0 || run.signal === 'SIGINT', `code ${run.code}, signal ${run.signal}`);
  assert.deepEqual(cliErrors(run.stderr), []);
  assert.equal(run.lines.filter((l) => l.type === 'final').length, 1);
  assert.equal(run.lines.at(-1)?.type, 'final');
});

/** Feed, bots and one kernel in lockstep, as start.ts runs them, minus the threads and the wall clock. */
function simulateBots(seed: string, accounts: number, hours: number): { commands: BotCommand[]; events: OutputEvent[] } {
  const start = Date.UTC(2025, 0, 6, 22, 0);
  const tiers = presetTiers();
  const kernel = new ShardKernel({ tiers, instruments: DEFAULT_INSTRUMENTS });
  let i = 0;
  const apply = (input: EngineInput): void => kernel.apply({ i: i++, input });
  const list = Array.from({ length: accounts }, (_, n) => ({ assessmentId: `a${n}`, tier: tiers[n % tiers.length]! }));
  const quotes = new Map<string, Quote>();
  const bots = new BotTraders({
    random: new Random(seed),
    accounts: list,
    quote: (s) => quotes.get(s),
    startTime: start,
    actionsPerHour: 6,
  });
  const feed = new SyntheticFeed({ seed, startTime: start, meanIntervalMs: 1_000, resolveAfterMs: 2 * 3_600_000 });
  const commands: BotCommand[] = [];
  const events: OutputEvent[] = [];
  const drain = (): void => {
    for (const e of kernel.drainEvents()) {
      events.push(e);
      if (e.type !== 'engine.input-rejected' && e.type !== 'actor.quarantined') bots.observe(e);
    }
  };
  apply({ type: 'clock', time: start });
  for (const a of list) apply({ type: 'create', assessmentId: a.assessmentId, traderId: 't', tierId: a.tier.id });
  drain();
  for (let now = start + 1_000; now <= start + hours * 3_600_000; now += 1_000) {
    while (!feed.done && feed.now < now) {
      const item = feed.next();
      if (item.type === 'tick') {
        apply({ type: 'tick', ...item.tick });
        quotes.set(item.tick.symbol, { ...item.tick, bidSize: item.tick.bidSize, askSize: item.tick.askSize });
      } else {
        apply({ type: 'resolution', ...item.resolution });
        for (const inst of DEFAULT_INSTRUMENTS) if (inst.market === item.resolution.market) quotes.delete(inst.symbol);
      }
    }
    apply({ type: 'clock', time: now });
    drain();
    for (const c of bots.commands(now)) {
      commands.push(c);
      apply({ type: 'command', ...c });
    }
    drain();
  }
  return { commands, events };
}

test('the demo bots are deterministic for a seed, trade every kind of command, and most of their orders are accepted', () => {
  const a = simulateBots('bots', 100, 3);
  assert.deepEqual(simulateBots('bots', 100, 3).commands, a.commands);
  assert.notDeepEqual(simulateBots('other', 100, 3).commands, a.commands);

  const kinds = new Set(
    a.commands.map((c) =>
      c.command.kind === 'place' ? `${c.command.type}${c.command.stopLoss === undefined ? '' : '+sl'}` : c.command.kind,
    ),
  );
  for (const k of ['market+sl', 'limit+sl', 'cancel', 'close-position', 'flatten'])
    assert.ok(kinds.has(k), `bots sent ${k} (saw ${[...kinds].join(', ')})`);
  const ids = a.commands.flatMap((c) => ('clientOrderId' in c.command ? [c.command.clientOrderId] : []));
  assert.equal(new Set(ids).size, ids.length, 'client order ids are unique');

  const count = (type: string): number => a.events.filter((e) => e.type === type).length;
  const entries = a.events.filter((e) => e.type === 'order.accepted' && e.order.role === 'entry').length;
  assert.ok(count('order.filled') > 0 && count('position.opened') > 0);
  assert.ok(
    count('order.rejected') <= 0.05 * (entries + count('order.rejected')),
    `${count('order.rejected')} rejected of ${entries + count('order.rejected')}`,
  );
  assert.equal(count('engine.input-rejected') + count('actor.quarantined'), 0);
  // Binary tiers bought binary shares, linear tiers traded linear symbols.
  const placed = a.commands.flatMap((c) => (c.command.kind === 'place' ? [c.command.symbol] : []));
  assert.ok(placed.some((s) => s.includes(':')) && placed.some((s) => !s.includes(':')));
});

test('--port naming a taken port fails with exit 1 and says which port, instead of taking another', async () => {
  const { createServer } = await import('node:net');
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const port = (holder.address() as { port: number }).port;
  try {
    const run = await runCli(['--assessments', '20', '--duration', '3', '--port', String(port)]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, new RegExp(`start: port ${port} on 127\\.0\\.0\\.1 is in use`));
    assert.ok(!run.lines.some((l) => l.type === 'config'), 'no engine was reported running');
  } finally {
    holder.close();
  }
});
