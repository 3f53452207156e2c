import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { OPERATOR_PODS, OVERLAYS, ROOT, kustomizeMissing, pods, render, selects } from './rendered-manifests.js';
import { modelProblems, typeProblems } from './schema-check.js';

const missing = kustomizeMissing();
const rendered = new Map(OVERLAYS.map((o) => [o, missing === undefined ? render(o) : []]));
// One TypeScript program for every overlay (a program costs seconds to build).
let typed: string[] | undefined;
const typeProblemsOf = (namespace: string) =>
  (typed ??= typeProblems([...rendered.values()].flat())).filter((p) => p.startsWith(`${namespace}/`));

for (const overlay of OVERLAYS) {
  describe(`the ${overlay} overlay`, { skip: missing }, () => {
    const objects = rendered.get(overlay)!;
    const named = (kind: string, name: string) => objects.find((o) => o.kind === kind && o.metadata.name === name);

    test('renders objects that all validate against their schemas', async () => {
      assert.ok(objects.length > 10, `rendered ${objects.length} objects`);
      assert.deepEqual(await modelProblems(objects), []);
    });

    test('has no field its schema does not know', () => {
      const ns = objects.find((o) => o.kind === 'Namespace')!.metadata.name;
      assert.deepEqual(typeProblemsOf(ns), []);
    });

    test('puts every object in the overlay namespace', () => {
      const ns = objects.find((o) => o.kind === 'Namespace')?.metadata.name;
      assert.ok(ns !== undefined, 'the overlay creates its namespace');
      for (const o of objects) if (o.kind !== 'Namespace') assert.equal(o.metadata.namespace, ns, `${o.kind}/${o.metadata.name}`);
    });

    test('references secrets and never carries one', () => {
      assert.deepEqual(
        objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata.name),
        [],
      );
      const secretish = /SECRET|PASSWORD|PRIVATE|TOKEN|DATABASE_URL|REDIS_URL_AUTH/;
      for (const p of pods(objects)) {
        for (const c of [...(p.spec.initContainers ?? []), ...p.spec.containers]) {
          for (const e of c.env ?? []) {
            if (secretish.test(e.name))
              assert.ok(e.valueFrom?.secretKeyRef !== undefined, `${p.owner.metadata.name}/${c.name}: ${e.name} must come from a Secret`);
          }
        }
      }
      for (const o of objects.filter((x) => x.kind === 'ConfigMap')) {
        for (const k of Object.keys(o.data ?? {})) assert.ok(!secretish.test(k), `ConfigMap ${o.metadata.name} holds ${k}`);
      }
    });

    test('points every Service, budget and autoscaler at pods or workloads that exist', () => {
      const allPods = [...pods(objects).map((p) => ({ labels: p.labels, ports: containerPorts(p.spec) })), ...OPERATOR_PODS];
      for (const svc of objects.filter((o) => o.kind === 'Service')) {
        const targets = allPods.filter((p) => selects({ matchLabels: svc.spec.selector }, p.labels));
        assert.ok(targets.length > 0, `Service ${svc.metadata.name} selects no pod`);
        for (const port of svc.spec.ports) {
          for (const t of targets)
            assert.ok(hasPort(t.ports, port.targetPort ?? port.port), `Service ${svc.metadata.name}: no pod port ${port.targetPort}`);
        }
      }
      for (const pdb of objects.filter((o) => o.kind === 'PodDisruptionBudget')) {
        assert.ok(
          allPods.some((p) => selects(pdb.spec.selector, p.labels)),
          `PodDisruptionBudget ${pdb.metadata.name} selects no pod`,
        );
        assert.equal(pdb.spec.maxUnavailable, 1, `PodDisruptionBudget ${pdb.metadata.name}`);
      }
      for (const a of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler' || o.kind === 'ScaledObject')) {
        const ref = a.spec.scaleTargetRef;
        assert.ok(
          named(ref.kind ?? 'Deployment', ref.name) !== undefined,
          `${a.kind} ${a.metadata.name} scales ${ref.kind}/${ref.name}, which is not rendered`,
        );
      }
      for (const route of objects.filter((o) => o.kind === 'HTTPRoute')) {
        for (const rule of route.spec.rules) {
          for (const b of rule.backendRefs) {
            const svc = named('Service', b.name);
            assert.ok(
              svc?.spec.ports.some((p: { port: number }) => p.port === b.port),
              `HTTPRoute ${route.metadata.name} → ${b.name}:${b.port}`,
            );
          }
        }
      }
    });

    test('runs the engine nodes as the issue asks: identity, probes, drain, spread, one disruption at a time', () => {
      const sts = named('StatefulSet', 'vatic-engine')!;
      assert.ok(sts !== undefined);
      const spec = sts.spec.template.spec;
      const c = spec.containers.find((x: { name: string }) => x.name === 'engine');
      const nodeId = c.env.find((e: { name: string }) => e.name === 'NODE_ID');
      assert.equal(nodeId?.valueFrom?.fieldRef?.fieldPath, 'metadata.name', 'NODE_ID is the pod name');
      assert.equal(c.readinessProbe.httpGet.path, '/readyz');
      // Recovery replays a checkpoint, the journal and the stream: minutes, not seconds.
      assert.ok(c.startupProbe.periodSeconds * c.startupProbe.failureThreshold >= 600, 'a startupProbe budget of at least 10 minutes');
      // serve's own stop bound is 30 s (engine/main/serve.ts), after the preStop sleep.
      assert.ok(
        spec.terminationGracePeriodSeconds > (c.lifecycle.preStop.sleep?.seconds ?? 0) + 30,
        'grace longer than preStop plus the drain',
      );
      const zoneTerms = [
        ...(spec.affinity?.podAntiAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? []).map(
          (t: { podAffinityTerm: unknown }) => t.podAffinityTerm,
        ),
        ...(spec.topologySpreadConstraints ?? []),
      ];
      assert.ok(
        zoneTerms.some((t: { topologyKey: string }) => t.topologyKey === 'topology.kubernetes.io/zone'),
        'spread across zones',
      );
      assert.ok(c.resources.requests.memory !== undefined && c.resources.limits.memory !== undefined, 'memory sized');
    });
  });
}

describe('the dependencies outside kustomize', () => {
  test('NATS runs JetStream with three servers in prod and fsyncs before every acknowledgement, saying why', () => {
    const prod = parse(readFileSync(`${ROOT}deploy/k8s/nats/values-prod.yaml`, 'utf8'));
    assert.equal(prod.config.cluster.replicas, 3);
    assert.equal(prod.config.jetstream.enabled, true);
    for (const env of ['dev', 'prod']) {
      const text = readFileSync(`${ROOT}deploy/k8s/nats/values-${env}.yaml`, 'utf8');
      assert.equal(parse(text).config.jetstream.merge.sync_interval, 'always', env);
    }
    assert.match(
      readFileSync(`${ROOT}deploy/k8s/nats/values-prod.yaml`, 'utf8'),
      /#[^\n]*acknowledged writes/,
      'the reason is in a comment',
    );
  });

  test('the RayService serves the application deploy/ray defines, on the Ray version its image is built from', { skip: missing }, () => {
    const ray = rendered.get('prod')!.find((o) => o.kind === 'RayService')!;
    const serve = parse(ray.spec.serveConfigV2 as string);
    const app = serve.applications[0];
    const [module, attr] = (app.import_path as string).split(':');
    const source = readFileSync(`${ROOT}deploy/ray/${module}.py`, 'utf8');
    assert.match(source, new RegExp(`^\\s*${attr} = `, 'm'), `${app.import_path} is defined`);
    for (const d of app.deployments) assert.match(source, new RegExp(`class ${d.name}\\b`), `deployment ${d.name}`);
    for (const v of Object.keys(app.runtime_env.env_vars))
      assert.match(source, new RegExp(`os\\.environ\\.get\\('${v}'`), `env var ${v} is read`);
    assert.equal(app.runtime_env.working_dir, undefined, 'no local working_dir: the code is in the image');
    const dockerfile = readFileSync(`${ROOT}deploy/ray/Dockerfile`, 'utf8');
    assert.equal(/ARG RAY_VERSION=(\S+)/.exec(dockerfile)?.[1], ray.spec.rayClusterConfig.rayVersion);
  });
});

function containerPorts(spec: { containers: { ports?: { name?: string; containerPort: number }[] }[] }): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of spec.containers) for (const p of c.ports ?? []) out[p.name ?? String(p.containerPort)] = p.containerPort;
  return out;
}

function hasPort(ports: Record<string, number>, port: string | number): boolean {
  return typeof port === 'number' ? Object.values(ports).includes(port) : ports[port] !== undefined;
}
