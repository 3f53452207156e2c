import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { missingServerFlags, SERVER_V8_FLAGS } from '../main/server-flags.js';

const read = (path: string): string => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');

test('npm start, npm run serve and the image all run node with the server V8 flags', () => {
  const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
  const entrypoint = /^ENTRYPOINT (\[.*\])$/m.exec(read('deploy/Dockerfile'))?.[1];
  assert.ok(entrypoint !== undefined, 'the Dockerfile has an ENTRYPOINT in exec form');
  const image = JSON.parse(entrypoint) as string[];
  assert.equal(image[0], 'node', 'the image starts node itself, so the flags reach V8');
  for (const flag of SERVER_V8_FLAGS) {
    for (const name of ['start', 'serve']) assert.ok(scripts[name]!.split(' ').includes(flag), `${name}: ${scripts[name]} lacks ${flag}`);
    assert.ok(image.includes(flag), `the image's ENTRYPOINT lacks ${flag}`);
  }
});

test('a process started without a server flag is told which it lacks', () => {
  assert.deepEqual(missingServerFlags([]), [...SERVER_V8_FLAGS]);
  assert.deepEqual(missingServerFlags(['--expose-gc', ...SERVER_V8_FLAGS]), []);
});
