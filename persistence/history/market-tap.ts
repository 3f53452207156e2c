/**
 * A market log that shows each input it hands to its reader to an observer
 * first: the engine node reads the market as before, and the history records
 * the marks of exactly what the engine applied (a re-read after a restart is
 * shown again; the marks merge idempotently).
 */
import type { MarketInput, MarketLog, MarketReader } from '../../engine/index.js';

/** `log`, with `observe` called for every input read from it (what it throws is swallowed). */
export function tapMarketLog<L extends MarketLog>(log: L, observe: (input: MarketInput) => void): MarketLog {
  return {
    open(fromSeq: number): MarketReader {
      const reader = log.open(fromSeq);
      return {
        async *[Symbol.asyncIterator]() {
          for await (const input of reader) {
            try {
              observe(input);
            } catch {
              // The market must not stop for the history.
            }
            yield input;
          }
        },
        stop: () => reader.stop(),
      };
    },
  };
}
