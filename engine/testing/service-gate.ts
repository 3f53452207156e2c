/**
 * Integration tests talk to real services. Where one cannot be reached, a test
 * is skipped with the reason on a developer's machine, and fails in CI
 * (CI=true), where `.ci/run` has started every service and no test may skip.
 */
import { Socket } from 'node:net';

/** Whether a TCP port answers within `timeoutMs`. */
export function portOpen(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(port, host, () => done(true));
  });
}

/**
 * The `skip` option for a `node:test` suite needing a service: false when it
 * answers, a reason string when it does not (outside CI). In CI it throws.
 *
 * @example
 * const skip = await serviceGate('postgres', '127.0.0.1', 5432);
 * describe('pg snapshot store', { skip }, () => { ... });
 */
export async function serviceGate(name: string, host: string, port: number): Promise<false | string> {
  if (await portOpen(host, port)) return false;
  const reason = `${name} is not reachable at ${host}:${port}`;
  if (process.env['CI'] === 'true') throw new Error(`${reason}; CI requires it (.ci/run starts it)`);
  return `${reason}: integration test skipped outside CI`;
}
