import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';

const run = promisify(execFile);

test('replaying a tape whose binary tick is priced in cents exits 2 naming the line and PRICE_OUT_OF_RANGE, printing no event', async () => {
  const lines = readFileSync('tapes/prediction-settlement.jsonl', 'utf8').split('\n');
  const at = lines.findIndex((l) => l.includes('"seq":3,'));
  lines[at] = lines[at]!.replace('"bid":0.84,"ask":0.86', '"bid":84,"ask":86');
  const tape = join(mkdtempSync(join(tmpdir(), 'vatic-replay-')), 'cents.jsonl');
  writeFileSync(tape, lines.join('\n'));
  await assert.rejects(
    run('npx', ['tsx', 'engine/main/replay.ts', tape, '--workers', '1'], { cwd: process.cwd(), timeout: 60_000 }),
    (err: { code?: number; stdout?: string; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.equal(err.stdout, '');
      assert.match(err.stderr ?? '', new RegExp(`^replay: tape line ${at + 1}: PRICE_OUT_OF_RANGE: tick PM:ELECTION:YES bid 84 ask 86`));
      return true;
    },
  );
});
