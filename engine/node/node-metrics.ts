/**
 * Prometheus figures of one engine node, on a registry the process owns (no
 * global registry: two nodes in one test process keep separate figures).
 * Names are in base units; no per-assessment labels.
 */
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** The node's metrics. */
export class NodeMetrics {
  readonly marketInputs: Counter<'kind'>;
  readonly marketRejected: Counter<'reason'>;
  readonly intake: Counter<'result'>;
  readonly journalBatchSize: Histogram;
  readonly journalWriteSeconds: Histogram;
  readonly ackSeconds: Histogram;
  readonly checkpointSeconds: Histogram;
  readonly checkpointFailures: Counter;
  readonly checkpointActors: Counter;
  readonly snapshotOversized: Counter;
  readonly recoverySeconds: Gauge;
  readonly lastTickSeq: Gauge;
  readonly journalBacklog: Gauge;

  /** @param registry where the metrics are registered */
  constructor(registry: Registry) {
    const registers = [registry];
    this.marketInputs = new Counter({
      name: 'engine_market_inputs_total',
      help: 'Market inputs applied, by kind (tick, resolution, clock).',
      labelNames: ['kind'],
      registers,
    });
    this.marketRejected = new Counter({
      name: 'engine_market_messages_rejected_total',
      help: 'Market messages skipped, by reason (malformed, duplicate_seq, or a market-input refusal code in lower case: unknown_symbol, price_out_of_range, crossed_quote, already_resolved, ...).',
      labelNames: ['reason'],
      registers,
    });
    this.intake = new Counter({
      name: 'engine_intake_total',
      help: 'Creates and commands offered to the node, by result (accepted or a refusal code).',
      labelNames: ['result'],
      registers,
    });
    this.journalBatchSize = new Histogram({
      name: 'engine_journal_batch_entries',
      help: 'Entries per journal write.',
      buckets: [1, 4, 16, 64, 256, 1024, 4096],
      registers,
    });
    this.journalWriteSeconds = new Histogram({
      name: 'engine_journal_write_seconds',
      help: 'Duration of one journal batch write.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    });
    this.ackSeconds = new Histogram({
      name: 'engine_intake_ack_seconds',
      help: 'From a command offered to its durable acknowledgement.',
      buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
      registers,
    });
    this.checkpointSeconds = new Histogram({
      name: 'engine_checkpoint_seconds',
      help: 'Duration of one checkpoint, capture to commit.',
      buckets: [0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10],
      registers,
    });
    this.checkpointFailures = new Counter({
      name: 'engine_checkpoint_failures_total',
      help: 'Checkpoints that did not commit (the next one is full).',
      registers,
    });
    this.checkpointActors = new Counter({
      name: 'engine_checkpoint_actors_total',
      help: 'Actor snapshots written by checkpoints.',
      registers,
    });
    this.snapshotOversized = new Counter({
      name: 'engine_snapshot_oversized_total',
      help: 'Actor states written over the snapshot size cap (written anyway; the bound escaped where the state grows).',
      registers,
    });
    this.recoverySeconds = new Gauge({
      name: 'engine_recovery_seconds',
      help: 'Start-up to caught up with the market log, last start.',
      registers,
    });
    this.lastTickSeq = new Gauge({ name: 'engine_market_last_seq', help: 'Market log sequence of the last applied input.', registers });
    this.journalBacklog = new Gauge({
      name: 'engine_journal_replay_backlog',
      help: 'Journal entries read at recovery and not yet applied.',
      registers,
    });
  }
}
