/**
 * The overlays as Kubernetes would receive them: `kubectl kustomize` output,
 * parsed, and the lookups the manifest tests share (workloads, pods' labels,
 * the config map a pod reads).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

/** A manifest field parsed from YAML, walked freely by the tests. */
// biome-ignore lint/suspicious/noExplicitAny: YAML holds whatever the manifest says; the tests check it
export type Loose = any;

/** Repository root. */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The overlays an operator applies. */
export const OVERLAYS = ['dev', 'prod'] as const;

/** One rendered object, loosely typed (the schema check types it). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Loose;
  data?: Record<string, string>;
  [key: string]: unknown;
}

/** Why rendering cannot run here, or undefined when it can. */
export function kustomizeMissing(): string | undefined {
  const r = spawnSync('kubectl', ['version', '--client'], { encoding: 'utf8' });
  return r.status === 0 ? undefined : 'kubectl (with its built-in kustomize) is not installed';
}

/** `kubectl kustomize deploy/k8s/overlays/<overlay>`, parsed. */
export function render(overlay: string): K8sObject[] {
  const out = execFileSync('kubectl', ['kustomize', `${ROOT}deploy/k8s/overlays/${overlay}`], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  return parseAllDocuments(out)
    .map((d) => d.toJS() as K8sObject)
    .filter((o) => o !== null);
}

/** A pod template and where it came from. */
export interface PodOf {
  readonly owner: K8sObject;
  readonly labels: Record<string, string>;
  readonly spec: Loose;
}

/** Pods the rendered workloads make (Deployment, StatefulSet, Job). */
export function pods(objects: readonly K8sObject[]): PodOf[] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet', 'Job'].includes(o.kind))
    .map((o) => ({ owner: o, labels: o.spec.template.metadata?.labels ?? {}, spec: o.spec.template.spec }));
}

/** Pods of the operators' workloads, with the labels their operators document. */
export const OPERATOR_PODS: readonly {
  readonly what: string;
  readonly labels: Record<string, string>;
  readonly ports: Record<string, number>;
}[] = [
  // CloudNativePG instance pods: cnpg.io/cluster, exporter port `metrics` 9187, status 8000.
  { what: 'CloudNativePG instance', labels: { 'cnpg.io/cluster': 'vatic-pg' }, ports: { postgresql: 5432, metrics: 9187, status: 8000 } },
  // NATS chart pods (release nats): client 4222, cluster 6222, monitor 8222, exporter prom-metrics 7777.
  {
    what: 'NATS server',
    labels: { 'app.kubernetes.io/name': 'nats' },
    ports: { nats: 4222, cluster: 6222, monitor: 8222, 'prom-metrics': 7777 },
  },
  // KubeRay pods: ray.io/is-ray-node=yes; the ports are the RayService's container ports.
  {
    what: 'Ray node',
    labels: { 'ray.io/is-ray-node': 'yes' },
    ports: { serve: 8000, metrics: 8080, dashboard: 8265, gcs: 6379, client: 10001 },
  },
];

/** Whether `selector` (matchLabels / matchExpressions) selects `labels`. */
export function selects(
  selector: { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] } | undefined,
  labels: Record<string, string>,
): boolean {
  if (selector === undefined) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(labels[e.key]!))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(labels[e.key]!)) return false;
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
  }
  return true;
}

/** The data of the rendered ConfigMap a pod names (its hash suffix included). */
export function configMap(objects: readonly K8sObject[], name: string): Record<string, string> {
  const cm = objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === name);
  if (cm === undefined) throw new Error(`ConfigMap ${name} is referenced but not rendered`);
  return cm.data ?? {};
}
