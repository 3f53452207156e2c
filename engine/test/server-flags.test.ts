import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { missingServerFlags, SERVER_V8_FLAGS } from '../cli/server-flags.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

test('npm start, npm run serve and the image all run node with the server V8 flags', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const cmd = /^CMD (\[.*\])$/m.exec(read('deploy/Dockerfile'))?.[1];
  assert.ok(cmd !== undefined, 'the Dockerfile has a CMD');
  const image = JSON.parse(cmd) as string[];
  for (const flag of SERVER_V8_FLAGS) {
    for (const name of ['start', 'serve']) assert.ok(scripts[name]!.split(' ').includes(flag), `${name}: ${scripts[name]} lacks ${flag}`);
    assert.ok(image.includes(flag), `the image's CMD lacks ${flag}`);
  }
});

test('a process started without a server flag is told which it lacks', () => {
  assert.deepEqual(missingServerFlags([]), [...SERVER_V8_FLAGS]);
  assert.deepEqual(missingServerFlags(['--expose-gc', ...SERVER_V8_FLAGS]), []);
});
