import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SimulationResult } from '../montecarlo/simulation-spec.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sim-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function sim(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'engine/main/sim.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, RAY_SERVE_URL: '' },
  });
}

test('npm run sim prints the summary as one JSON object and writes the HTML report', () => {
  const report = join(dir, 'report.html');
  const r = sim(
    '--trades',
    'sim/examples/trades-sample.csv',
    '--tier',
    'two-step-100k',
    '--paths',
    '5000',
    '--seed',
    '7',
    '--json',
    '--report',
    report,
    '--workers',
    '2',
  );
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, 'stdout holds only the JSON summary');
  const result = SimulationResult.parse(JSON.parse(lines[0]!));
  assert.equal(result.paths, 5000);
  assert.equal(result.seed, '7');
  assert.equal(result.method, 'block');
  assert.match(r.stderr, /100% 5,000\/5,000 paths/);
  const html = readFileSync(report, 'utf8');
  assert.match(html, /^<!DOCTYPE html>/i);
  assert.equal(html.match(/<svg/g)?.length, 3);
  assert.match(html, /Two-Step 100K/);
  // Same seed, same numbers.
  const again = sim(
    '--trades',
    'sim/examples/trades-sample.csv',
    '--tier',
    'two-step-100k',
    '--paths',
    '5000',
    '--seed',
    '7',
    '--json',
    '--no-report',
    '--workers',
    '1',
  );
  assert.deepEqual({ ...JSON.parse(again.stdout), elapsedMs: 0 }, { ...result, elapsedMs: 0 });
});

test('the table names the pass probability and each way to fail', () => {
  const r = sim(
    '--trades',
    'sim/examples/trades-sample.csv',
    '--tier',
    'one-step-50k',
    '--paths',
    '2000',
    '--no-report',
    '--method',
    'iid',
  );
  assert.equal(r.status, 0, r.stderr);
  for (const row of ['pass probability', 'daily-loss', 'max-loss', 'days to pass', 'max drawdown', 'risk of ruin'])
    assert.match(r.stdout, new RegExp(row));
});

test('bad input is refused with what was wrong', () => {
  const cases: [string[], RegExp][] = [
    [['--trades', 'sim/examples/trades-sample.csv', '--tier', 'no-such-tier'], /'no-such-tier' is neither a preset/],
    [['--tier', 'two-step-100k'], /method 'block' needs --trades/],
    [['--trades', 'sim/examples/trades-sample.csv', '--tier', 'two-step-100k', '--paths', '-5'], /--paths.*positive/],
    [['--tier', 'two-step-100k', '--method', 'parametric'], /--mu and --sigma/],
  ];
  const broken = join(dir, 'broken.csv');
  writeFileSync(broken, 'closedAt,pnl\n2026-01-01T00:00:00Z,12\n2026-01-02T00:00:00Z,abc\n');
  cases.push([['--trades', broken, '--tier', 'two-step-100k'], /line 3: pnl 'abc' is not a number/]);
  for (const [args, message] of cases) {
    const r = sim(...args, '--no-report');
    assert.notEqual(r.status, 0, `${args.join(' ')} should fail`);
    assert.match(r.stderr, message);
  }
});
