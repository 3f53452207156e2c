/**
 * Prometheus figures of a cluster node's shard ownership, on a registry the
 * process owns. The names are the ones the deploy alerts and dashboards use.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The cluster metrics of one node. */
export class ClusterMetrics {
  readonly members: Gauge;
  readonly shardsOwned: Gauge;
  readonly moves: Counter<'kind'>;
  readonly fenced: Counter;
  readonly shardsUnowned: Gauge;
  readonly catchupSeconds: Histogram;
  readonly leaseRenewFailures: Counter;

  /** @param registry where the metrics are registered */
  constructor(registry: Registry) {
    const registers = [registry];
    this.members = new Gauge({
      name: 'cluster_members',
      help: 'Live members of the cluster (lease not lapsed, by the database clock), as this node last saw them.',
      registers,
    });
    this.shardsOwned = new Gauge({ name: 'cluster_shards_owned', help: 'Virtual shards this node serves.', registers });
    this.moves = new Counter({
      name: 'cluster_shard_moves_total',
      help: 'Virtual shards this node took or handed over, by kind: acquire (claimed free or released), release (handed over), takeover (claimed from a member whose lease lapsed).',
      labelNames: ['kind'],
      registers,
    });
    this.fenced = new Counter({
      name: 'cluster_fenced_total',
      help: 'Virtual shards this node stopped serving because a newer owner claimed them (a fenced journal write or checkpoint).',
      registers,
    });
    this.shardsUnowned = new Gauge({
      name: 'cluster_shards_unowned',
      help: 'Virtual shards no live member serves, as this node sees it (never claimed, released and not yet taken, or held by a member whose lease lapsed).',
      registers,
    });
    this.catchupSeconds = new Histogram({
      name: 'cluster_shard_catchup_seconds',
      help: 'From claiming shards to serving them: checkpoint load, journal and market replay, adoption.',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
      registers,
    });
    this.leaseRenewFailures = new Counter({
      name: 'cluster_lease_renew_failures_total',
      help: 'Membership lease renewals that failed (database unreachable) or found the lease lapsed or taken.',
      registers,
    });
    for (const kind of ['acquire', 'release', 'takeover']) this.moves.inc({ kind }, 0);
  }
}
