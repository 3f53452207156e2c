/**
 * Every container of the image is checked against the process it runs: the
 * role its arguments choose, the environment that role reads (ServeEnv, the
 * gateway's budgets, or the CLI's own flags), the ports it listens on and the
 * paths it answers.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { gatewayLimitsFromEnv } from '../../engine/main/compose-gateway.js';
import { resolveImageRole } from '../../engine/main/image-roles.js';
import { ServeEnv } from '../../engine/main/serve-env.js';
import { OVERLAYS, ROOT, configMap, kustomizeMissing, pods, render, type K8sObject, type Loose } from './rendered-manifests.js';

const missing = kustomizeMissing();
const marketCli = missing === undefined ? cliOptions('engine/main/market-data.ts') : undefined;
const migrateCli = missing === undefined ? cliOptions('engine/main/migrate.ts') : undefined;

/** Paths each serving role answers with 200 when healthy (engine: CLUSTER-CONTRACT ops HTTP; gateway: transport/server/http-api.ts). */
const PROBE_PATHS = { engine: ['/livez', '/readyz'], gateway: ['/healthz', '/readyz'], all: ['/healthz', '/readyz'] } as const;
/** Variables each role cannot run without (cluster mode and the gateway role need NATS and Postgres). */
const REQUIRED = { engine: ['NATS_URL', 'DATABASE_URL', 'NODE_ID'], gateway: ['NATS_URL', 'DATABASE_URL'], all: [] } as const;

/** Options a CLI's --help lists (`--flag`), and the choices it names per option. */
function cliOptions(entry: string): { flags: Set<string>; choices: Map<string, string[]> } {
  const help = execFileSync(process.execPath, ['--import', 'tsx', entry, '--help'], { cwd: ROOT, encoding: 'utf8' });
  const flags = new Set<string>();
  const choices = new Map<string, string[]>();
  for (const line of help.split('\n')) {
    const m = /^\s+(?:-\w, )?(--[a-z-]+)/.exec(line);
    if (m === null) continue;
    flags.add(m[1]!);
    const c = /\(choices: ([^)]*)\)/.exec(line);
    if (c !== null)
      choices.set(
        m[1]!,
        c[1]!.split(',').map((s) => s.trim().replace(/^"|"$/g, '')),
      );
  }
  return { flags, choices };
}

/** A value that stands for one read from a Secret or the downward API (its content is not in the manifests). */
function placeholder(name: string, fieldPath?: string): string {
  if (fieldPath === 'metadata.name') return 'vatic-engine-0';
  if (name.endsWith('_URL')) return name === 'DATABASE_URL' ? 'postgres://vatic@vatic-pg-rw:5432/vatic' : 'https://example.invalid/';
  return 'x'.repeat(48);
}

interface Container {
  readonly name: string;
  readonly args?: string[];
  readonly env?: { name: string; value?: string; valueFrom?: Loose }[];
  readonly envFrom?: { configMapRef?: { name: string } }[];
  readonly ports?: { name?: string; containerPort: number }[];
  readonly readinessProbe?: Loose;
  readonly livenessProbe?: Loose;
  readonly startupProbe?: Loose;
}

/** The environment a container starts with, as its process sees it. */
function environment(objects: readonly K8sObject[], c: Container): Record<string, string> {
  const env: Record<string, string> = {};
  for (const from of c.envFrom ?? []) {
    assert.ok(from.configMapRef !== undefined, `${c.name}: envFrom other than a ConfigMap`);
    Object.assign(env, configMap(objects, from.configMapRef.name));
  }
  for (const e of c.env ?? []) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.configMapKeyRef !== undefined) {
      const v = configMap(objects, e.valueFrom.configMapKeyRef.name)[e.valueFrom.configMapKeyRef.key];
      assert.ok(v !== undefined, `${c.name}: ${e.name} names a key the ConfigMap lacks`);
      env[e.name] = v;
    } else env[e.name] = placeholder(e.name, e.valueFrom?.fieldRef?.fieldPath);
  }
  return env;
}

/** Whether the gateway-limits reader knows a variable (a bad value for it is refused by name). */
function gatewayLimitKnows(name: string): boolean {
  try {
    gatewayLimitsFromEnv({ [name]: 'not a number' });
    return false;
  } catch (err) {
    return (err as Error).message.includes(name);
  }
}

for (const overlay of OVERLAYS) {
  describe(`the ${overlay} overlay's processes`, { skip: missing }, () => {
    const objects = missing === undefined ? render(overlay) : [];
    const containers = pods(objects).flatMap((p) =>
      [...(p.spec.initContainers ?? []), ...p.spec.containers]
        .filter((c: { image: string }) => /vatic-engine/.test(c.image))
        .map((c: Container) => ({ pod: p, c })),
    );

    test('run a role the image has', () => {
      assert.ok(containers.length >= 4, `${containers.length} containers of the image`);
      for (const { pod, c } of containers) {
        const env = environment(objects, c);
        const r = resolveImageRole(c.args ?? [], env);
        assert.ok(r !== undefined, `${pod.owner.metadata.name}/${c.name}`);
      }
    });

    test('set only variables their process reads, and every one it needs, with valid values', () => {
      for (const { pod, c } of containers) {
        const where = `${pod.owner.metadata.name}/${c.name}`;
        const env = environment(objects, c);
        const { name, role } = resolveImageRole(c.args ?? [], env);
        if (role.engineRole !== undefined) {
          for (const key of Object.keys(env)) {
            assert.ok(
              Object.hasOwn(ServeEnv.shape, key) || gatewayLimitKnows(key),
              `${where}: ${key} is read by neither ServeEnv nor gatewayLimitsFromEnv`,
            );
          }
          const parsed = ServeEnv.safeParse(env);
          assert.ok(parsed.success, `${where}: ${parsed.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
          assert.doesNotThrow(() => gatewayLimitsFromEnv(env), where);
          for (const key of REQUIRED[role.engineRole])
            assert.ok(env[key] !== undefined, `${where}: ${key} is required for the ${role.engineRole} role`);
          if (role.engineRole !== 'engine')
            assert.equal(parsed.data!.GATEWAY_HOST, '0.0.0.0', `${where}: a gateway in a pod must bind every address`);
        } else if (name === 'migrate') {
          assert.deepEqual(Object.keys(env), ['DATABASE_URL'], `${where}: migrate reads DATABASE_URL only`);
        } else if (name === 'market-data') {
          assert.deepEqual(Object.keys(env), ['NATS_URL'], `${where}: market-data reads NATS_URL only`);
        } else assert.fail(`${where}: role ${name} is not expected in a pod`);
      }
    });

    test("pass only options the role's command line knows, consistent with the config", () => {
      for (const { pod, c } of containers) {
        const where = `${pod.owner.metadata.name}/${c.name}`;
        const { name, args } = resolveImageRole(c.args ?? [], environment(objects, c));
        const cli = name === 'market-data' ? marketCli! : name === 'migrate' ? migrateCli! : undefined;
        if (cli === undefined) {
          assert.deepEqual(args, [], `${where}: serve takes no arguments`);
          continue;
        }
        const opts = new Map<string, string>();
        for (let i = 0; i < args.length; i++) {
          assert.ok(cli.flags.has(args[i]!), `${where}: ${name} has no option ${args[i]}`);
          opts.set(args[i]!, args[++i]!);
        }
        for (const [flag, allowed] of cli.choices)
          if (opts.has(flag))
            assert.ok(allowed.includes(opts.get(flag)!), `${where}: ${flag} ${opts.get(flag)} is not one of ${allowed.join(', ')}`);
        if (name === 'market-data') {
          // The feed must publish where the nodes read.
          const config = ServeEnv.parse(
            configMap(objects, objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('vatic-config'))!.metadata.name),
          );
          assert.equal(opts.get('--stream') ?? 'MARKET', config.MARKET_STREAM, `${where}: --stream`);
          assert.equal(opts.get('--namespace') ?? '', config.NATS_NAMESPACE, `${where}: --namespace`);
        }
      }
    });

    test('declare only ports their process listens on, and probe those with paths it answers', () => {
      for (const { pod, c } of containers) {
        const where = `${pod.owner.metadata.name}/${c.name}`;
        const env = environment(objects, c);
        const { role, name, args } = resolveImageRole(c.args ?? [], env);
        const listens: number[] = [];
        if (role.engineRole !== undefined) {
          const e = ServeEnv.parse(env);
          if (role.engineRole === 'engine') listens.push(e.OPS_PORT as number);
          else listens.push(e.GATEWAY_PORT as number);
        }
        // A venue connector serves its metrics on --metrics-port.
        if (name === 'market-data' && args.includes('--metrics-port')) listens.push(Number(args[args.indexOf('--metrics-port') + 1]));
        const ports = new Map((c.ports ?? []).map((p) => [p.name ?? String(p.containerPort), p.containerPort]));
        for (const [n, p] of ports)
          assert.ok(listens.includes(p), `${where}: port ${n} (${p}) — the process listens on ${listens.join(', ') || 'nothing'}`);
        const isInit = (pod.spec.initContainers ?? []).includes(c);
        const probes = { readinessProbe: c.readinessProbe, livenessProbe: c.livenessProbe, startupProbe: c.startupProbe };
        if (role.engineRole === undefined || isInit) {
          for (const [k, v] of Object.entries(probes)) assert.equal(v, undefined, `${where}: ${k} on a process that serves no HTTP`);
          continue;
        }
        for (const k of ['readinessProbe', 'livenessProbe', 'startupProbe'] as const) {
          const probe = probes[k];
          assert.ok(probe?.httpGet !== undefined, `${where}: ${k} missing`);
          const port = typeof probe.httpGet.port === 'number' ? probe.httpGet.port : ports.get(probe.httpGet.port);
          assert.ok(port !== undefined && listens.includes(port), `${where}: ${k} probes port ${probe.httpGet.port}`);
          assert.ok(
            (PROBE_PATHS[role.engineRole] as readonly string[]).includes(probe.httpGet.path),
            `${where}: ${k} path ${probe.httpGet.path}`,
          );
        }
      }
    });
  });
}
