import assert from 'node:assert/strict';
import { test } from 'node:test';
import { natsServer } from '../nats/nats-server-url.js';

test("a NATS URL with a user and password becomes connect options with them, percent-decoded, and the user's own inbox prefix", () => {
  assert.deepEqual(natsServer('nats://engine:p%40ss@nats:4222'), {
    servers: 'nats://nats:4222',
    user: 'engine',
    pass: 'p@ss',
    inboxPrefix: '_INBOX_engine',
  });
  assert.deepEqual(natsServer('nats://tok@nats:4222'), { servers: 'nats://nats:4222', user: 'tok' });
});

test('a NATS URL without credentials, or a list of servers, is passed on as it is', () => {
  assert.deepEqual(natsServer('nats://127.0.0.1:4222'), { servers: 'nats://127.0.0.1:4222' });
  assert.deepEqual(natsServer('127.0.0.1:4222'), { servers: '127.0.0.1:4222' });
  assert.deepEqual(natsServer('nats://a:1@h1:4222,nats://h2:4222'), { servers: 'nats://a:1@h1:4222,nats://h2:4222' });
});
