/**
 * Where simulation jobs and their results are kept: in memory for one
 * process, or in Postgres (persistence/postgres/pg-simulation-store.ts) so
 * every gateway process can answer for every job.
 */
import type { SimulationResult } from './simulation-spec.js';

export type SimulationStatus = 'running' | 'completed' | 'failed' | 'cancelled';

/** One job as the API shows it. */
export interface SimulationRecord {
  readonly id: string;
  readonly traderId: string;
  readonly assessmentId: string | null;
  readonly tierId: string;
  status: SimulationStatus;
  /** The request as accepted (trades reduced to their count). */
  readonly request: Record<string, unknown>;
  result: SimulationResult | null;
  error: { readonly code: string; readonly message: string } | null;
  readonly createdAt: number;
  completedAt: number | null;
}

export interface SimulationStore {
  insert(record: SimulationRecord): Promise<void>;
  /** Record the end of a job. */
  finish(
    id: string,
    status: Exclude<SimulationStatus, 'running'>,
    result: SimulationResult | null,
    error: SimulationRecord['error'],
    at: number,
  ): Promise<void>;
  get(id: string): Promise<SimulationRecord | undefined>;
  /** Newest first; all traders when `traderId` is undefined. */
  list(traderId: string | undefined, limit: number): Promise<SimulationRecord[]>;
  /**
   * Jobs still `running` that started before `startedBefore` (past the
   * longest run allowed, so their process stopped): they failed.
   */
  failInterrupted(startedBefore: number, at: number): Promise<number>;
}

/**
 * A bounded in-memory store: the oldest finished jobs are dropped past
 * `capacity`.
 */
export class MemorySimulationStore implements SimulationStore {
  readonly #records = new Map<string, SimulationRecord>();
  readonly #capacity: number;

  /** @param capacity jobs kept. @default 1000 */
  constructor(capacity = 1000) {
    this.#capacity = capacity;
  }

  async insert(record: SimulationRecord): Promise<void> {
    this.#records.set(record.id, structuredClone(record));
    if (this.#records.size > this.#capacity) {
      for (const [id, r] of this.#records) {
        if (r.status !== 'running') {
          this.#records.delete(id);
          break;
        }
      }
    }
  }

  async finish(
    id: string,
    status: Exclude<SimulationStatus, 'running'>,
    result: SimulationResult | null,
    error: SimulationRecord['error'],
    at: number,
  ): Promise<void> {
    const r = this.#records.get(id);
    if (r === undefined) return;
    r.status = status;
    r.result = result;
    r.error = error;
    r.completedAt = at;
  }

  async get(id: string): Promise<SimulationRecord | undefined> {
    const r = this.#records.get(id);
    return r === undefined ? undefined : structuredClone(r);
  }

  async list(traderId: string | undefined, limit: number): Promise<SimulationRecord[]> {
    return [...this.#records.values()]
      .filter((r) => traderId === undefined || r.traderId === traderId)
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1))
      .slice(0, limit)
      .map((r) => structuredClone(r));
  }

  async failInterrupted(startedBefore: number, at: number): Promise<number> {
    let n = 0;
    for (const r of this.#records.values()) {
      if (r.status !== 'running' || r.createdAt >= startedBefore) continue;
      r.status = 'failed';
      r.error = { code: 'INTERRUPTED', message: 'the process running this simulation stopped' };
      r.completedAt = at;
      n++;
    }
    return n;
  }
}
