/**
 * NetworkPolicies, evaluated as the API defines them (a pod selected by no
 * policy of a direction is open in that direction; otherwise a flow needs a
 * rule whose peer and port match), against the flows the system uses.
 */
import assert from 'node:assert/strict';
import { BlockList } from 'node:net';
import { describe, test } from 'node:test';
import { kustomizeMissing, render, selects, type K8sObject, type Loose } from './rendered-manifests.js';

type Endpoint = { readonly ns: string; readonly labels: Record<string, string> } | { readonly ip: string };
interface Flow {
  readonly from: string;
  readonly to: string;
  readonly port: number;
  readonly protocol?: 'TCP' | 'UDP';
}

const missing = kustomizeMissing();
const objects = missing === undefined ? render('prod') : [];
const NS = 'vatic';

const app = (name: string): Endpoint => ({ ns: NS, labels: { 'app.kubernetes.io/name': name } });
const ENDPOINTS: Record<string, Endpoint> = {
  engine: app('vatic-engine'),
  gateway: app('vatic-gateway'),
  marketData: app('vatic-market-data'),
  migrate: app('vatic-migrate'),
  redis: app('vatic-redis'),
  nats: { ns: NS, labels: { 'app.kubernetes.io/name': 'nats' } },
  pg: { ns: NS, labels: { 'cnpg.io/cluster': 'vatic-pg' } },
  ray: { ns: NS, labels: { 'ray.io/is-ray-node': 'yes' } },
  dns: { ns: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
  prometheus: { ns: 'monitoring', labels: { 'app.kubernetes.io/name': 'prometheus' } },
  cnpgOperator: { ns: 'cnpg-system', labels: { 'app.kubernetes.io/name': 'cloudnative-pg' } },
  kuberayOperator: { ns: 'kuberay-system', labels: { 'app.kubernetes.io/name': 'kuberay-operator' } },
  gatewayProxy: { ns: 'envoy-gateway-system', labels: { 'app.kubernetes.io/name': 'envoy' } },
  trader: { ip: '203.0.113.7' },
  venue: { ip: '192.0.2.44' },
  stripe: { ip: '198.51.100.20' },
};

/** The flows the system uses (and nothing else may be open). */
const FLOWS: readonly Flow[] = [
  ...['engine', 'gateway', 'marketData', 'migrate', 'redis'].flatMap((from) => [
    { from, to: 'dns', port: 53, protocol: 'UDP' as const },
    { from, to: 'dns', port: 53 },
  ]),
  { from: 'engine', to: 'nats', port: 4222 },
  { from: 'engine', to: 'pg', port: 5432 },
  { from: 'engine', to: 'redis', port: 6379 },
  { from: 'gateway', to: 'nats', port: 4222 },
  { from: 'gateway', to: 'pg', port: 5432 },
  { from: 'gateway', to: 'redis', port: 6379 },
  { from: 'gateway', to: 'ray', port: 8000 },
  { from: 'gateway', to: 'stripe', port: 443 },
  { from: 'marketData', to: 'nats', port: 4222 },
  { from: 'marketData', to: 'venue', port: 443 },
  { from: 'prometheus', to: 'marketData', port: 9464 },
  { from: 'migrate', to: 'pg', port: 5432 },
  { from: 'gatewayProxy', to: 'gateway', port: 8080 },
  { from: 'trader', to: 'gateway', port: 8080 },
  { from: 'prometheus', to: 'engine', port: 9464 },
  { from: 'prometheus', to: 'gateway', port: 8080 },
  { from: 'prometheus', to: 'pg', port: 9187 },
  { from: 'prometheus', to: 'nats', port: 7777 },
  { from: 'prometheus', to: 'ray', port: 8080 },
  { from: 'nats', to: 'nats', port: 6222 },
  { from: 'pg', to: 'pg', port: 5432 },
  { from: 'cnpgOperator', to: 'pg', port: 8000 },
  { from: 'cnpgOperator', to: 'pg', port: 5432 },
  { from: 'kuberayOperator', to: 'ray', port: 8265 },
  { from: 'kuberayOperator', to: 'ray', port: 8000 },
  // Ray's own cluster traffic (GCS, raylets, object transfers) uses many ports among its pods.
  ...[6379, 8000, 8265, 10001, 52365].map((port) => ({ from: 'ray', to: 'ray', port })),
];

/** Flows that must stay closed. */
const CLOSED: readonly Flow[] = [
  { from: 'marketData', to: 'pg', port: 5432 },
  { from: 'engine', to: 'stripe', port: 443 },
  { from: 'migrate', to: 'nats', port: 4222 },
  { from: 'trader', to: 'engine', port: 9464 },
  { from: 'trader', to: 'pg', port: 5432 },
  { from: 'gateway', to: 'pg', port: 9187 },
  { from: 'marketData', to: 'redis', port: 6379 },
  { from: 'trader', to: 'redis', port: 6379 },
  { from: 'gateway', to: 'engine', port: 9464 },
  { from: 'trader', to: 'marketData', port: 9464 },
  { from: 'marketData', to: 'pg', port: 443 },
];

interface Peer {
  podSelector?: Loose;
  namespaceSelector?: Loose;
  ipBlock?: { cidr: string; except?: string[] };
}
interface Rule {
  ports?: { port?: number; protocol?: string }[];
  to?: Peer[];
  from?: Peer[];
}

function inCidr(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split('/') as [string, string];
  const list = new BlockList();
  list.addSubnet(net, Number(bits));
  return list.check(ip);
}

function peerMatches(peer: Peer, e: Endpoint): boolean {
  if (peer.ipBlock !== undefined)
    return 'ip' in e && inCidr(e.ip, peer.ipBlock.cidr) && !(peer.ipBlock.except ?? []).some((c) => inCidr(e.ip, c));
  if ('ip' in e) return false;
  const nsOk =
    peer.namespaceSelector === undefined ? e.ns === NS : selects(peer.namespaceSelector, { 'kubernetes.io/metadata.name': e.ns });
  const podOk = peer.podSelector === undefined || selects(peer.podSelector, e.labels);
  return nsOk && podOk;
}

function ruleMatches(rule: Rule, peer: Endpoint, f: Flow, dir: 'to' | 'from'): boolean {
  const peers = rule[dir];
  const peerOk = peers === undefined || peers.length === 0 || peers.some((p) => peerMatches(p, peer));
  const portOk =
    rule.ports === undefined ||
    rule.ports.length === 0 ||
    rule.ports.some((p) => (p.port === undefined || p.port === f.port) && (p.protocol ?? 'TCP') === (f.protocol ?? 'TCP'));
  return peerOk && portOk;
}

function policiesFor(e: Endpoint, type: 'Ingress' | 'Egress'): K8sObject[] {
  if ('ip' in e || e.ns !== NS) return [];
  // An empty podSelector ({}) selects every pod of the namespace.
  return objects.filter(
    (o) => o.kind === 'NetworkPolicy' && (o.spec.policyTypes ?? ['Ingress']).includes(type) && selects(o.spec.podSelector, e.labels),
  );
}

/** Whether a flow gets through both the sender's egress and the receiver's ingress policies. */
function allowed(f: Flow): boolean {
  const from = ENDPOINTS[f.from]!,
    to = ENDPOINTS[f.to]!;
  const egress = policiesFor(from, 'Egress');
  const ingress = policiesFor(to, 'Ingress');
  const out = egress.length === 0 || egress.some((p) => (p.spec.egress ?? []).some((r: Rule) => ruleMatches(r, to, f, 'to')));
  const inn = ingress.length === 0 || ingress.some((p) => (p.spec.ingress ?? []).some((r: Rule) => ruleMatches(r, from, f, 'from')));
  return out && inn;
}

describe('the network policies', { skip: missing }, () => {
  test('let through every flow the system uses', () => {
    for (const f of FLOWS) assert.ok(allowed(f), `${f.from} → ${f.to}:${f.port}/${f.protocol ?? 'TCP'} is blocked`);
  });

  test('keep closed what the system does not use', () => {
    for (const f of CLOSED) assert.ok(!allowed(f), `${f.from} → ${f.to}:${f.port} is open`);
  });

  test('open no port that no flow of the system uses', () => {
    for (const p of objects.filter((o) => o.kind === 'NetworkPolicy')) {
      for (const [dir, rules] of [
        ['from', p.spec.ingress ?? []],
        ['to', p.spec.egress ?? []],
      ] as const) {
        for (const r of rules as Rule[]) {
          const used = FLOWS.some((f) => {
            const [self, peer] = dir === 'from' ? [ENDPOINTS[f.to]!, ENDPOINTS[f.from]!] : [ENDPOINTS[f.from]!, ENDPOINTS[f.to]!];
            return !('ip' in self) && self.ns === NS && selects(p.spec.podSelector, self.labels) && ruleMatches(r, peer, f, dir);
          });
          assert.ok(
            used,
            `NetworkPolicy ${p.metadata.name}: a rule (${dir} ${JSON.stringify(r[dir] ?? 'anywhere')} ports ${JSON.stringify(r.ports ?? 'all')}) serves no flow`,
          );
        }
      }
    }
  });
});
