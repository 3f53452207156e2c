/**
 * The engine's last check on market inputs, on the main thread before any
 * shard: what it refuses reaches no actor. Its decisions depend only on the
 * inputs before it (instruments declared, markets resolved), so every replay,
 * recovery and shard count refuses the same inputs.
 */
import type { EngineInput } from './inputs.js';
import { isValidTimestamp, type MarketInputRefusal, type MarketRegistry } from './market-validation.js';

/** A market input the engine refused: it took its position and reached no shard. */
export interface RefusedInput {
  /** Its position in the input order. */
  readonly input: number;
  readonly type: 'tick' | 'resolution' | 'clock';
  readonly reason: MarketInputRefusal;
  /** The tick's symbol or the resolution's market. */
  readonly subject?: string;
}

/** Admits or refuses each input in order; counts refusals by reason. */
export class MarketInputGate {
  readonly #market: MarketRegistry;
  readonly #onRefused: ((refused: RefusedInput) => void) | undefined;
  readonly #refused = new Map<MarketInputRefusal, number>();

  /** @param market instruments and resolutions as of the first input the gate will see */
  constructor(market: MarketRegistry, onRefused?: (refused: RefusedInput) => void) {
    this.#market = market;
    this.#onRefused = onRefused;
  }

  /** Refusals so far, by reason. */
  get refused(): ReadonlyMap<MarketInputRefusal, number> {
    return this.#refused;
  }

  /** True when input `i` may go on to the shards; false when refused (counted and reported). */
  admit(i: number, input: EngineInput): boolean {
    let reason: MarketInputRefusal | undefined;
    switch (input.type) {
      case 'tick':
        reason = this.#market.checkTick(input);
        break;
      case 'resolution':
        reason = this.#market.checkResolution(input);
        if (reason === undefined) this.#market.resolve(input.market, input.outcome);
        break;
      case 'clock':
        reason = isValidTimestamp(input.time) ? undefined : 'INVALID_TIMESTAMP';
        break;
      case 'instrument':
        this.#market.add(input.instrument);
        break;
      default:
        break;
    }
    if (reason === undefined) return true;
    this.#refused.set(reason, (this.#refused.get(reason) ?? 0) + 1);
    if (this.#onRefused !== undefined) {
      const type = input.type as RefusedInput['type'];
      const subject = input.type === 'tick' ? input.symbol : input.type === 'resolution' ? input.market : undefined;
      try {
        this.#onRefused(subject === undefined ? { input: i, type, reason } : { input: i, type, reason, subject });
      } catch {
        // An observer's failure must not stop the market.
      }
    }
    return false;
  }
}
