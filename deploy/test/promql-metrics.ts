/**
 * Which metrics the code exports, and which a PromQL expression reads, for the
 * check that every alert, dashboard panel and autoscaler query reads a real one.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './rendered-manifests.js';

/** Metric names registered with prom-client under engine/, transport/, persistence/ and sim/ (tests excluded). */
export function exportedMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) {
        if (entry !== 'test' && entry !== 'node_modules') walk(path);
      } else if (entry.endsWith('.ts')) {
        const text = readFileSync(path, 'utf8');
        if (!text.includes("from 'prom-client'")) continue;
        for (const m of text.matchAll(/\bname: '([a-zA-Z_:][a-zA-Z0-9_:]*)'/g)) names.add(m[1]!);
      }
    }
  };
  for (const dir of ['engine', 'transport', 'persistence', 'sim']) walk(join(ROOT, dir));
  return names;
}

/**
 * Metrics the cluster contract (issue 12) names, exported by the engine nodes
 * and gateways being built beside this kit; the alerts and dashboard use these
 * exact names.
 */
export const CONTRACT_METRICS: readonly string[] = [
  'cluster_members',
  'cluster_shards_owned',
  'cluster_shard_moves_total',
  'cluster_fenced_total',
  'cluster_shards_unowned',
  'cluster_shard_catchup_seconds',
  'cluster_lease_renew_failures_total',
  'gateway_route_retries_total',
  'gateway_route_unavailable_total',
  'gateway_route_seconds',
];

/** Series Prometheus makes itself for every target. */
export const PROMETHEUS_METRICS: readonly string[] = ['up'];

const KEYWORDS = new Set([
  'by',
  'without',
  'on',
  'ignoring',
  'group_left',
  'group_right',
  'bool',
  'and',
  'or',
  'unless',
  'offset',
  'atan2',
  'sum',
  'min',
  'max',
  'avg',
  'count',
  'stddev',
  'stdvar',
  'topk',
  'bottomk',
  'quantile',
  'count_values',
  'group',
  'limitk',
  'limit_ratio',
  'inf',
  'nan',
]);

/** Metric names an expression reads (functions, keywords, labels, strings and durations left out). */
export function metricsIn(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings
    .replace(/\{[^}]*\}/g, '') // label matchers
    .replace(/\[[^\]]*\]/g, '') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '$1') // label lists
    .replace(/\$\{?[A-Za-z_][A-Za-z0-9_]*\}?/g, '0'); // Grafana variables
  const names: string[] = [];
  for (const m of stripped.matchAll(/(?<![A-Za-z0-9_:.$])([A-Za-z_:][A-Za-z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call !== undefined || KEYWORDS.has(name!.toLowerCase())) continue;
    names.push(name!);
  }
  return [...new Set(names)];
}

/** The exported metric a series name belongs to (histogram and summary series carry suffixes). */
export function baseMetric(series: string, known: ReadonlySet<string>): string {
  if (known.has(series)) return series;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (series.endsWith(suffix) && known.has(series.slice(0, -suffix.length))) return series.slice(0, -suffix.length);
  }
  return series;
}
