/**
 * The last tick of each symbol already on the market stream, to seed a
 * starting connector's guard: after a restart (or as the standby of another
 * connector) the quote the stream ends with is the jump reference, and the
 * same top is not published again.
 */
import { Decoder } from '@msgpack/msgpack';
import type { JetStreamManager } from '@nats-io/jetstream';
import { tickSubject } from '../nats/index.js';
import type { NormalizedQuote, Venue } from './normalized-quote.js';

const decoder = new Decoder({ maxStrLength: 1_024, maxArrayLength: 16, maxMapLength: 16, maxBinLength: 0, maxExtLength: 0 });

/** The last tick of each `symbol` from `venue` on the stream (symbols with none are left out). */
export async function lastTicksOnStream(
  jsm: JetStreamManager,
  stream: string,
  namespace: string,
  venue: Venue,
  symbols: Iterable<string>,
): Promise<NormalizedQuote[]> {
  const out: NormalizedQuote[] = [];
  for (const symbol of new Set(symbols)) {
    const m = await jsm.streams.getMessage(stream, { last_by_subj: tickSubject(venue, symbol, namespace) }).catch(() => null);
    if (m === null) continue;
    let p: unknown;
    try {
      p = decoder.decode(m.data);
    } catch {
      continue; // not a tick this code wrote: no seed rather than a wrong one
    }
    const t = p as Partial<Record<'ts' | 'bid' | 'ask' | 'bidSize' | 'askSize', unknown>>;
    if (typeof t.ts !== 'number' || typeof t.bid !== 'number' || typeof t.ask !== 'number') continue;
    out.push({
      venue,
      symbol,
      ts: t.ts,
      bid: t.bid,
      ask: t.ask,
      ...(typeof t.bidSize === 'number' ? { bidSize: t.bidSize } : {}),
      ...(typeof t.askSize === 'number' ? { askSize: t.askSize } : {}),
    });
  }
  return out;
}
