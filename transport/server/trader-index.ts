/**
 * Which assessments each trader holds, for `GET /v1/assessments`: kept from
 * the engine's `assessment.created` events.
 */
import type { OutputEvent } from '../../engine/index.js';

/** Which assessments each trader holds, kept from `assessment.created` events. */
export class TraderIndex {
  readonly #byTrader = new Map<string, Set<string>>();
  add(traderId: string, assessmentId: string): void {
    let set = this.#byTrader.get(traderId);
    if (set === undefined) this.#byTrader.set(traderId, (set = new Set()));
    set.add(assessmentId);
  }
  of(traderId: string): string[] {
    return [...(this.#byTrader.get(traderId) ?? [])].sort();
  }
  /** Feed engine events. */
  onEvents(events: readonly OutputEvent[]): void {
    for (const e of events) if (e.type === 'assessment.created') this.add(e.traderId, e.assessmentId);
  }
}
