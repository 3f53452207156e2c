import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { IMAGE_GATEWAY_HOST } from '../../engine/main/image-roles.js';
import { ServeEnv } from '../../engine/main/serve-env.js';

const dockerfile = readFileSync(new URL('../Dockerfile', import.meta.url), 'utf8');

/** The ENV of the Dockerfile's last stage, as one map (continuation lines joined). */
function runtimeEnv(): Record<string, string> {
  const last = dockerfile
    .split(/^FROM /m)
    .at(-1)!
    .replace(/\\\n/g, ' ');
  const env: Record<string, string> = {};
  for (const line of last.split('\n')) {
    const m = /^ENV\s+(.*)$/.exec(line.trim());
    if (m) for (const [, k, v] of m[1]!.matchAll(/([A-Z_]+)=(\S+)/g)) env[k!] = v!;
  }
  return env;
}

test('the image binds the gateway to every interface, so docker run -p 8080:8080 reaches it', () => {
  const env = runtimeEnv();
  assert.equal(env['GATEWAY_HOST'], '0.0.0.0');
  assert.equal(IMAGE_GATEWAY_HOST, '0.0.0.0', 'the image entry binds every interface when GATEWAY_HOST is unset');
  assert.equal(ServeEnv.parse(env).GATEWAY_HOST, '0.0.0.0');
  assert.match(dockerfile, /^ENTRYPOINT \[.*image-entry\.js"\]$/m, 'the image starts through the image entry');
});

test('outside the image, npm run serve keeps the gateway on loopback by default', () => {
  assert.equal(ServeEnv.parse({}).GATEWAY_HOST, '127.0.0.1');
});
