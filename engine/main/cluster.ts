/**
 * `npm run cluster -- --nodes 3 --gateways 2`: a cluster on this machine,
 * against the local NATS and Postgres (its own database, made when missing,
 * and its own subject namespace): engine nodes n1.. (`ENGINE_ROLE=engine`,
 * `NODE_ID`, an ops port each), stateless gateways g1.. (`ENGINE_ROLE=gateway`,
 * a gateway port each), a synthetic market feed, and demo assessments
 * created through the routing plane. It prints who owns which shards, and
 * takes `status`, `add [node]`, `drain <node>`, `kill <node>` and `quit` typed
 * at its terminal.
 *
 * `npm run cluster -- add|drain|kill|status [node]` from another terminal
 * sends the command to the running cluster (a request on
 * `<namespace>.cluster.control`) and prints its answer.
 */
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect, errors, type NatsConnection } from '@nats-io/transport-node';
import { SignJWT } from 'jose';
import postgres from 'postgres';
import { portOpen } from '../testing/index.js';
import { ShardRouter, natsServer } from '../../transport/nats/index.js';
import { ClusterProcesses } from './cluster-processes.js';
import { ownershipLine, readOwnership, statusText } from './cluster-status.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NAME = /^[ng][1-9][0-9]{0,2}$/;

interface Options {
  nodes: number;
  gateways: number;
  namespace: string;
  nats: string;
  databaseUrl: string;
  gatewayPort: number;
  opsPort: number;
  assessments: number;
  feed: boolean;
}

function count(max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(`an integer of 0..${max}`);
    return n;
  };
}

const controlSubject = (namespace: string): string => `${namespace}.cluster.control`;

/** Exit with a message an operator can act on. */
function fail(message: string): never {
  process.stderr.write(`cluster: ${message}\n`);
  process.exit(1);
}

/** NATS and Postgres answer, or the process exits saying which is missing and how to start it. */
async function checkServices(o: Options): Promise<void> {
  const nats = new URL(o.nats.includes('://') ? o.nats : `nats://${o.nats}`);
  const pg = new URL(o.databaseUrl);
  const missing: string[] = [];
  if (!(await portOpen(nats.hostname, Number(nats.port || 4222))))
    missing.push(
      `NATS is not running at ${nats.hostname}:${nats.port || 4222}: start it with JetStream (nats-server -js), or point NATS_URL at one`,
    );
  if (!(await portOpen(pg.hostname, Number(pg.port || 5432))))
    missing.push(
      `Postgres is not running at ${pg.hostname}:${pg.port || 5432}: start it, or point --database-url (CLUSTER_DATABASE_URL) at one`,
    );
  if (missing.length > 0) fail(missing.join('\n         '));
}

/** Create the cluster's database when it is missing. */
async function ensureDatabase(url: string): Promise<void> {
  const name = decodeURIComponent(new URL(url).pathname.slice(1));
  if (!/^[A-Za-z0-9_]{1,63}$/.test(name)) fail(`database name '${name}' must be 1..63 letters, digits or _`);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
  try {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from pg_database where datname = ${name}`;
    if (row!.n === 0) {
      await sql.unsafe(`create database ${name}`);
      process.stdout.write(`cluster: created database ${name}\n`);
    }
  } catch (err) {
    fail(`could not reach or create database ${name}: ${(err as Error).message}`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Send one command to the running cluster and print its answer. */
async function sendCommand(o: Options, cmd: string, node: string | undefined): Promise<void> {
  if (!['add', 'drain', 'kill', 'status'].includes(cmd)) fail(`unknown command '${cmd}': add [node], drain <node>, kill <node> or status`);
  if ((cmd === 'drain' || cmd === 'kill') && node === undefined) fail(`${cmd} needs a node, e.g. npm run cluster -- ${cmd} n2`);
  await checkServices(o);
  const nc = await connect({ ...natsServer(o.nats), name: 'cluster-cli' });
  try {
    const msg = await nc.request(controlSubject(o.namespace), new TextEncoder().encode(JSON.stringify({ cmd, node })), {
      timeout: 120_000,
    });
    const reply = JSON.parse(new TextDecoder().decode(msg.data)) as { ok: boolean; text: string };
    process.stdout.write(`${reply.text}\n`);
    process.exitCode = reply.ok ? 0 : 1;
  } catch (err) {
    if (err instanceof errors.RequestError && err.isNoResponders())
      fail(`no cluster is running in namespace '${o.namespace}' (start one: npm run cluster -- --nodes 3 --gateways 2)`);
    throw err;
  } finally {
    await nc.close();
  }
}

/** Start the cluster and run it until `quit`, SIGINT or SIGTERM. */
async function supervise(o: Options): Promise<void> {
  await checkServices(o);
  await ensureDatabase(o.databaseUrl);
  const nc: NatsConnection = await connect({ ...natsServer(o.nats), name: 'cluster' });
  await jetstreamManager(nc).catch(() => fail(`NATS at ${o.nats} has no JetStream: start it with -js`));
  const taken = await nc.request(controlSubject(o.namespace), new TextEncoder().encode('{"cmd":"ping"}'), { timeout: 500 }).then(
    () => true,
    () => false,
  );
  if (taken)
    fail(
      `a cluster is already running in namespace '${o.namespace}' (send it commands: npm run cluster -- status; or start another with --namespace)`,
    );
  const sql = postgres(o.databaseUrl, { max: 2, onnotice: () => {}, connect_timeout: 5 });
  const say = (line: string): void => void process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
  const secret = process.env['GATEWAY_JWT_SECRET'] ?? randomBytes(32).toString('hex');
  const stream = o.namespace.toUpperCase().replace(/[^A-Z0-9_-]/g, '_');
  const procs = new ClusterProcesses({
    cwd: ROOT,
    logDir: `${ROOT}.data/cluster-${o.namespace}`,
    say,
    env: {
      NATS_URL: o.nats,
      DATABASE_URL: o.databaseUrl,
      NATS_NAMESPACE: o.namespace,
      MARKET_STREAM: `${stream}_MARKET`,
      EVENT_STREAM: `${stream}_EVENTS`,
      GATEWAY_JWT_SECRET: secret,
      LOG_LEVEL: 'info',
    },
  });
  const start = (name: string): string => {
    const k = Number(name.slice(1));
    if (name.startsWith('n')) {
      const p = procs.start(name, 'engine', o.opsPort + k - 1, {
        ENGINE_ROLE: 'engine',
        NODE_ID: name,
        OPS_PORT: String(o.opsPort + k - 1),
        GATEWAY_PORT: 'off',
        DATA_DIR: `.data/cluster-${o.namespace}/${name}`,
      });
      return `started engine node ${name} (pid ${p.child?.pid}, ops port ${p.port})`;
    }
    const p = procs.start(name, 'gateway', o.gatewayPort + k - 1, { ENGINE_ROLE: 'gateway', GATEWAY_PORT: String(o.gatewayPort + k - 1) });
    return `started gateway ${name} (pid ${p.child?.pid}, http://127.0.0.1:${p.port}/)`;
  };
  if (o.feed)
    procs.start('feed', 'feed', undefined, {}, [
      'engine/main/market-data.ts',
      '--namespace',
      o.namespace,
      '--stream',
      `${stream}_MARKET`,
      '--interval-ms',
      '1000',
    ]);
  for (let k = 1; k <= o.nodes; k++) say(start(`n${k}`));
  for (let k = 1; k <= o.gateways; k++) say(start(`g${k}`));
  const token = await new SignJWT({ roles: ['trader'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('trader-000001')
    .setIssuer('vatic')
    .setAudience('vatic-gateway')
    .setIssuedAt()
    .setExpirationTime('12h')
    .sign(new TextEncoder().encode(secret));
  say(`cluster '${o.namespace}': logs in .data/cluster-${o.namespace}/<name>.log; database ${new URL(o.databaseUrl).pathname.slice(1)}`);
  if (o.gateways > 0) say(`console: http://127.0.0.1:${o.gatewayPort}/ ; a token for trader-000001 (12 h): ${token}`);
  say('commands: status · add [n<k>|g<k>] · drain <name> · kill <name> · quit   (or from another terminal: npm run cluster -- drain n2)');

  let stopping = false;
  const handle = async (cmd: string, node: string | undefined): Promise<{ ok: boolean; text: string }> => {
    if (node !== undefined && !NAME.test(node)) return { ok: false, text: `'${node}' is not a node (n1, n2, …) or a gateway (g1, …)` };
    if (stopping) return { ok: false, text: 'the cluster is stopping' };
    try {
      switch (cmd) {
        case 'ping':
          return { ok: true, text: 'pong' };
        case 'status':
          return { ok: true, text: statusText(procs.all(), await readOwnership(sql)) };
        case 'add':
          return { ok: true, text: start(node ?? procs.nextName('engine')) };
        case 'drain': {
          if (node === undefined) return { ok: false, text: 'drain needs a name, e.g. drain n2' };
          const t0 = Date.now();
          const p = await procs.drain(node);
          return {
            ok: p.ended?.code === 0,
            text: `${node} drained: ${p.ended?.signal ?? `exit ${p.ended?.code}`} after ${((Date.now() - t0) / 1000).toFixed(1)} s`,
          };
        }
        case 'kill': {
          if (node === undefined) return { ok: false, text: 'kill needs a name, e.g. kill n2' };
          await procs.kill(node);
          return {
            ok: true,
            text: `${node} killed (SIGKILL)${node.startsWith('n') ? ': its shards are taken over once its lease expires (CLUSTER_LEASE_TTL_MS)' : ''}`,
          };
        }
        default:
          return { ok: false, text: `unknown command '${cmd}': status, add [name], drain <name>, kill <name>` };
      }
    } catch (err) {
      return { ok: false, text: (err as Error).message };
    }
  };
  const control = nc.subscribe(controlSubject(o.namespace), {
    callback: (err, msg) => {
      if (err !== null) return;
      let req: { cmd?: unknown; node?: unknown };
      try {
        req = JSON.parse(new TextDecoder().decode(msg.data)) as typeof req;
      } catch {
        return void msg.respond(new TextEncoder().encode(JSON.stringify({ ok: false, text: 'not JSON' })));
      }
      void handle(String(req.cmd ?? ''), typeof req.node === 'string' ? req.node : undefined).then((r) =>
        msg.respond(new TextEncoder().encode(JSON.stringify(r))),
      );
    },
  });

  // Ownership, printed when it changes.
  let last = '';
  const watch = setInterval(
    () =>
      void readOwnership(sql).then((own) => {
        const line = ownershipLine(own);
        if (line !== last) say((last = line));
      }),
    2_000,
  );

  // Demo assessments, created through the routing plane (each at the owner of its shard).
  const router = new ShardRouter(nc, { namespace: o.namespace, deadlineMs: 60_000 });
  router.start();
  void (async () => {
    let created = 0;
    let notReady = 0;
    for (let i = 1; i <= o.assessments && !stopping; i++) {
      const r = await router.offer({
        kind: 'create',
        assessmentId: `demo-${String(i).padStart(4, '0')}`,
        traderId: `trader-${String(((i - 1) % 10) + 1).padStart(6, '0')}`,
        tierId: 'one-step-50k',
      });
      if (r.ok) created++;
      else if (r.code === 'NOT_READY' && ++notReady <= 240) {
        // A shard still recovering, or no market time yet (the feed's first beat): the same one again shortly.
        await new Promise((res) => setTimeout(res, 250));
        i--;
      } else if (r.code !== 'DUPLICATE_ASSESSMENT') return say(`demo assessments: stopped at ${i}: ${r.code} ${r.message}`);
    }
    if (o.assessments > 0)
      say(`demo assessments: ${created} created (${o.assessments - created} were there), demo-0001.. of trader-000001..trader-000010`);
  })();

  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    say(`stopping (${why}): gateways and feed, then each node hands its shards over`);
    clearInterval(watch);
    router.close();
    await procs.stopAll();
    control.unsubscribe();
    await nc.drain().catch(() => undefined);
    await sql.end({ timeout: 5 });
    say('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const rl = createInterface({ input: process.stdin });
  rl.on('line', (text) => {
    const [cmd, node, ...extra] = text.trim().split(/\s+/);
    if (cmd === undefined || cmd === '') return;
    if (cmd === 'quit' || cmd === 'exit') return void stop('quit');
    if (cmd === 'help') return say('commands: status · add [n<k>|g<k>] · drain <name> · kill <name> · quit');
    if (extra.length > 0) return say(`one name at most: ${text}`);
    void handle(cmd, node).then((r) => say(r.text));
  });
}

const program = new Command('cluster')
  .description('A cluster on this machine: engine nodes and gateways against the local NATS and Postgres; or a command to a running one')
  .argument('[command]', 'add [name] · drain <name> · kill <name> · status: sent to the running cluster')
  .argument('[name]', 'the node (n1, n2, …) or gateway (g1, …) the command is about')
  .option('--nodes <n>', 'engine nodes to start', count(32), 3)
  .option('--gateways <n>', 'gateways to start', count(16), 2)
  .option('--namespace <ns>', 'subject namespace (and stream and log names) of this cluster', 'cluster')
  .option('--nats <url>', 'NATS server (NATS_URL)', process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222')
  .option(
    '--database-url <url>',
    'Postgres database of the cluster, made when missing (CLUSTER_DATABASE_URL)',
    process.env['CLUSTER_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/vatic_cluster',
  )
  .option('--gateway-port <port>', 'port of g1; g2 the next, …', count(65_000), 8080)
  .option('--ops-port <port>', 'ops port of n1; n2 the next, …', count(65_000), 9464)
  .option('--assessments <n>', "demo assessments to create through the gateways' routing", count(100_000), 50)
  .option('--no-feed', 'start no synthetic market feed')
  .action(async (cmd: string | undefined, name: string | undefined, o: Options) => {
    if (!/^[A-Za-z0-9_-]+$/.test(o.namespace)) fail('--namespace: letters, digits, _ and - only');
    if (cmd === undefined) await supervise(o);
    else await sendCommand(o, cmd, name);
  });

await program.parseAsync().catch((err: unknown) => fail((err as Error).message));
