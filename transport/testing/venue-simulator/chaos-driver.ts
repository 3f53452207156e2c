/**
 * A simulator misbehaving at random: good updates interleaved with every bad
 * kind the venue can carry, and now and then a dropped or stalled connection
 * or refused handshakes. Seeded, so a failing run can be replayed. Test code only.
 */
import type { BadKind } from './sim-record.js';
import { seeded, type VenueSim } from './venue-sim.js';

/** Options of {@link ChaosDriver}. */
export interface ChaosOptions {
  /** @default 'chaos' */
  readonly seed?: string;
  /** Share of events that are bad. @default 0.1 */
  readonly badRate?: number;
  /** Mean time between connection faults, ms (0: none). @default 2_000 */
  readonly faultEveryMs?: number;
  /** Connection faults allowed. @default drop, stall, refuse */
  readonly faults?: ReadonlyArray<'drop' | 'stall' | 'refuse'>;
  /** Events per burst (between two yields to the event loop). @default 4 */
  readonly burst?: number;
}

/** What a run did. */
export interface ChaosReport {
  events: number;
  readonly bad: Map<BadKind, number>;
  readonly faults: Map<string, number>;
}

/** See the module comment. */
export class ChaosDriver {
  readonly #sim: VenueSim;
  readonly #o: ChaosOptions;
  readonly #random: () => number;
  readonly report: ChaosReport = { events: 0, bad: new Map(), faults: new Map() };

  constructor(sim: VenueSim, options: ChaosOptions = {}) {
    this.#sim = sim;
    this.#o = options;
    this.#random = seeded(options.seed ?? 'chaos');
  }

  /** Misbehave for `durationMs` of wall time. */
  async run(durationMs: number): Promise<ChaosReport> {
    const sim = this.#sim;
    const ids = sim.instruments();
    const kinds = [...sim.supports];
    const faults = this.#o.faults ?? ['drop', 'stall', 'refuse'];
    const faultEvery = this.#o.faultEveryMs ?? 2_000;
    const end = performance.now() + durationMs;
    let nextFault = performance.now() + faultEvery * (0.5 + this.#random());
    while (performance.now() < end) {
      for (let k = 0; k < (this.#o.burst ?? 4); k++) {
        const id = ids[Math.floor(this.#random() * ids.length)]!;
        this.report.events++;
        if (this.#random() < (this.#o.badRate ?? 0.1) && kinds.length > 0) {
          const kind = kinds[Math.floor(this.#random() * kinds.length)]!;
          // A gap needs a connection in sync to lose a frame on.
          if (kind === 'gap' && !sim.subscribed(id)) continue;
          sim.inject(id, kind);
          this.report.bad.set(kind, (this.report.bad.get(kind) ?? 0) + 1);
        } else {
          sim.step(id);
        }
      }
      if (faultEvery > 0 && faults.length > 0 && performance.now() >= nextFault) {
        nextFault = performance.now() + faultEvery * (0.5 + this.#random());
        const fault = faults[Math.floor(this.#random() * faults.length)]!;
        if (fault === 'drop') sim.server.dropAll();
        else if (fault === 'stall') sim.server.stallAll();
        else sim.server.rejectNextHandshakes(2, 503);
        this.report.faults.set(fault, (this.report.faults.get(fault) ?? 0) + 1);
      }
      await new Promise((r) => setTimeout(r, 1));
    }
    return this.report;
  }
}
