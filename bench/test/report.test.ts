import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { BenchReport, BenchResultsError, compareResults, judge, readResults } from '../report.js';

test('a target is MET only when its comparison holds, and a missing figure is a MISS', () => {
  assert.equal(judge(0.9, '<=', 1), 'MET');
  assert.equal(judge(1, '<', 1), 'MISS');
  assert.equal(judge(1, '<=', 1), 'MET');
  assert.equal(judge(2.1, '>=', 2), 'MET');
  assert.equal(judge(Number.NaN, '>=', 2), 'MISS');
  assert.equal(judge(Number.POSITIVE_INFINITY, '>', 2), 'MISS');
});

test('a suite prints the verdict beside the figure and records both', () => {
  const r = new BenchReport({ stderr: new PassThrough(), argv: [] });
  const s = r.suite('kernel', { assessments: 5000 });
  assert.equal(s.target('tick-to-verdict p99', 7.5, '<=', 1, 'ms'), 'target ≤ 1 ms: MISS');
  assert.equal(s.target('pool / NumPy', 2.3, '>=', 2, '×'), 'target ≥ 2×: MET');
  assert.equal(s.allMet, false);
  const table = r.table();
  assert.match(table, /tick-to-verdict p99 +7\.50 ms +≤ 1 ms +MISS/);
  assert.match(table, /1\/2 targets MET/);
});

test('progress goes to stderr with the suite name and elapsed time', () => {
  const err = new PassThrough();
  const r = new BenchReport({ stderr: err, argv: [] });
  r.suite('sim').progress('pool warm');
  assert.match(String(err.read()), /^\[sim \+\d+\.\d s\] pool warm\n$/);
});

test('a written results file reads back and compares before with after', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'bench-report-'));
  try {
    const before = new BenchReport({ stderr: new PassThrough(), argv: ['all'] });
    before.suite('kernel', { quick: true }).target('p99', 7.5, '<=', 1, 'ms');
    const after = new BenchReport({ stderr: new PassThrough(), argv: ['all'] });
    const s = after.suite('kernel', { quick: true });
    s.target('p99', 0.75, '<=', 1, 'ms');
    s.finish();
    const a = await readResults(await after.write(join(dir, 'a.json')));
    const b = await readResults(await before.write(join(dir, 'b.json')));
    const text = compareResults(b, a);
    assert.match(text, /kernel +p99 +7\.50 +0\.750 +0\.10× +≤ 1 ms +MISS → MET/);
    await writeFile(join(dir, 'bad.json'), '{"version":2}');
    await assert.rejects(readResults(join(dir, 'bad.json')), BenchResultsError);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
