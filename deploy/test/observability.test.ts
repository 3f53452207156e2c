import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { CONTRACT_METRICS, PROMETHEUS_METRICS, baseMetric, exportedMetrics, metricsIn } from './promql-metrics.js';
import { OPERATOR_PODS, kustomizeMissing, pods, render, selects, type K8sObject } from './rendered-manifests.js';

const missing = kustomizeMissing();
const objects = missing === undefined ? render('prod') : [];
const exported = exportedMetrics();

/** Every PromQL expression of the alerts, the dashboard and the autoscalers, with where it is. */
function queries(all: readonly K8sObject[]): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  for (const r of all.filter((o) => o.kind === 'PrometheusRule')) {
    for (const g of r.spec.groups)
      for (const rule of g.rules) out.push({ where: `alert ${rule.alert ?? rule.record}`, expr: String(rule.expr) });
  }
  for (const cm of all.filter((o) => o.kind === 'ConfigMap' && o.metadata.labels?.['grafana_dashboard'] === '1')) {
    for (const [file, json] of Object.entries(cm.data ?? {})) {
      const dash = JSON.parse(json) as { panels: { title: string; targets?: { expr: string }[] }[] };
      for (const p of dash.panels) for (const t of p.targets ?? []) out.push({ where: `${file} panel "${p.title}"`, expr: t.expr });
    }
  }
  for (const so of all.filter((o) => o.kind === 'ScaledObject')) {
    for (const t of so.spec.triggers)
      if (t.type === 'prometheus') out.push({ where: `ScaledObject ${so.metadata.name}`, expr: t.metadata.query });
  }
  return out;
}

/** Metrics read by the queries that the code (or Prometheus) does not export, split by whether the cluster contract names them. */
function unexported(): { unknown: string[]; contract: string[] } {
  const known = new Set([...exported, ...PROMETHEUS_METRICS]);
  const withContract = new Set([...known, ...CONTRACT_METRICS]);
  const unknown: string[] = [];
  const contract = new Set<string>();
  for (const q of queries(objects)) {
    for (const series of metricsIn(q.expr)) {
      const m = baseMetric(series, withContract);
      if (!withContract.has(m)) unknown.push(`${q.where}: ${series}`);
      else if (!known.has(m)) contract.add(m);
    }
  }
  return { unknown, contract: [...contract].sort() };
}

const pending = missing === undefined ? unexported().contract : [];

describe('alerts, dashboard and autoscaler queries', { skip: missing }, () => {
  test('are there: alerts on what hurts traders, a dashboard with its sections', () => {
    const alerts = queries(objects)
      .filter((q) => q.where.startsWith('alert'))
      .map((q) => q.where);
    for (const a of [
      'VaticVerdictsBehindTicks',
      'VaticMarketLag',
      'VaticCheckpointStale',
      'VaticJournalUnavailable',
      'VaticNodeFenced',
      'VaticShardsUnowned',
      'VaticSlowConsumersClosed',
      'VaticStripeWebhookFailing',
    ]) {
      assert.ok(alerts.includes(`alert ${a}`), a);
    }
    const dash = JSON.parse(objects.find((o) => o.kind === 'ConfigMap' && o.metadata.name === 'vatic-dashboard')!.data!['vatic.json']!) as {
      uid: string;
      panels: { type: string; title: string; datasource?: { uid: string } }[];
      templating: { list: { name: string; type: string }[] };
    };
    assert.deepEqual(
      dash.panels.filter((p) => p.type === 'row').map((p) => p.title),
      ['Ingest', 'Verdicts and orders', 'Shards', 'Checkpoints and journal', 'Sockets', 'Simulations'],
    );
    assert.ok(
      dash.templating.list.some((v) => v.type === 'datasource' && v.name === 'datasource'),
      'a datasource variable, not __inputs',
    );
    // biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, compared as written
    for (const p of dash.panels.filter((x) => x.type !== 'row')) assert.equal(p.datasource?.uid, '${datasource}', p.title);
  });

  test('read only metrics the code exports', () => {
    assert.ok(exported.has('engine_market_last_seq') && exported.has('gateway_connections'), 'the exported metrics were found');
    assert.deepEqual(unexported().unknown, []);
  });

  // The cluster contract's metrics (issue 12) are exported by the engine nodes
  // and gateways being built beside this kit: strict once they are in the code.
  test("read the cluster contract's metrics only once the code exports them", {
    todo: pending.length > 0 ? `not exported yet: ${pending.join(', ')}` : false,
  }, () => {
    assert.deepEqual(pending, []);
  });
});

describe('scrapes', { skip: missing }, () => {
  test('reach every serving process on a port it declares', () => {
    const workloadPods = pods(objects).map((p) => ({
      labels: p.labels,
      ports: new Set(p.spec.containers.flatMap((c: { ports?: { name?: string }[] }) => (c.ports ?? []).map((x) => x.name))),
    }));
    const operatorPods = OPERATOR_PODS.map((p) => ({ labels: p.labels, ports: new Set(Object.keys(p.ports)) }));
    for (const pm of objects.filter((o) => o.kind === 'PodMonitor')) {
      const targets = [...workloadPods, ...operatorPods].filter((p) => selects(pm.spec.selector, p.labels));
      assert.ok(targets.length > 0, `PodMonitor ${pm.metadata.name} selects no pod`);
      for (const e of pm.spec.podMetricsEndpoints)
        for (const t of targets) assert.ok(t.ports.has(e.port), `PodMonitor ${pm.metadata.name}: port ${e.port}`);
    }
    for (const sm of objects.filter((o) => o.kind === 'ServiceMonitor')) {
      const services = objects.filter((o) => o.kind === 'Service' && selects(sm.spec.selector, o.metadata.labels ?? {}));
      assert.ok(services.length > 0, `ServiceMonitor ${sm.metadata.name} selects no Service`);
      for (const e of sm.spec.endpoints)
        for (const s of services)
          assert.ok(
            s.spec.ports.some((p: { name: string }) => p.name === e.port),
            `ServiceMonitor ${sm.metadata.name}: port ${e.port}`,
          );
    }
    const scraped = (name: string) =>
      objects.some(
        (o) => (o.kind === 'PodMonitor' || o.kind === 'ServiceMonitor') && selects(o.spec.selector, { 'app.kubernetes.io/name': name }),
      );
    for (const name of ['vatic-engine', 'vatic-gateway']) assert.ok(scraped(name), `${name} is scraped`);
    for (const o of objects.filter((x) => ['PodMonitor', 'ServiceMonitor', 'PrometheusRule'].includes(x.kind))) {
      assert.equal(
        o.metadata.labels?.['release'],
        'kube-prometheus-stack',
        `${o.kind}/${o.metadata.name} carries the label kube-prometheus-stack selects`,
      );
    }
  });
});

describe('the metric extractor', () => {
  test('finds the series an expression reads and nothing else', () => {
    assert.deepEqual(metricsIn('histogram_quantile(0.99, sum by (le) (rate(a_seconds_bucket{x="y_z"}[5m]))) > 0.1 and on (pod) up == 1'), [
      'a_seconds_bucket',
      'up',
    ]);
    assert.deepEqual(metricsIn('sum without (kind) (increase(b_total[$__rate_interval])) / 1e3'), ['b_total']);
    assert.equal(baseMetric('a_seconds_bucket', new Set(['a_seconds'])), 'a_seconds');
  });
});
