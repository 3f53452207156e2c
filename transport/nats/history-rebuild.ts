/**
 * The history read model rebuilt from the streams, and an assessment's tape
 * cut from the durable logs.
 *
 * - {@link rebuildHistory}: every event of the events stream (from its first
 *   message to the tail at the start) folded into an emptied history, and the
 *   market stream's ticks into the marks. The fold is a function of each
 *   assessment's events in identity order, so the result equals the live
 *   projection of the same events.
 * - {@link cutTape}: one assessment's inputs as a tape for `npm run replay`:
 *   the market as it stood at its creation (the last quote of each symbol,
 *   every earlier resolution, the last clock beat), then every market input
 *   until it ended, with each journaled command right after its watermark.
 */
import { Decoder } from '@msgpack/msgpack';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import type postgres from 'postgres';
import { DEFAULT_INSTRUMENTS, type Instrument } from '../../actors/index.js';
import type { EngineInput, JournalInput, MarketInput } from '../../engine/index.js';
import { MarkRecorder, decodeJson, type HistoryEvent, type PgHistoryStore } from '../../persistence/index.js';
import { DEFAULT_EVENTS_STREAM } from './event-publisher.js';
import { JetStreamMarketLog } from './jetstream-market-log.js';
import { DEFAULT_MARKET_STREAM } from './market-stream.js';
import { eventSubject } from './subjects.js';

/** Read `stream` from `fromSeq` to its last sequence at the call, message by message. */
export async function readStream(
  js: JetStreamClient,
  jsm: JetStreamManager,
  stream: string,
  fromSeq: number,
  each: (m: JsMsg) => Promise<void> | void,
): Promise<number> {
  const last = (await jsm.streams.info(stream)).state.last_seq;
  if (last < fromSeq) return 0;
  const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: fromSeq });
  const messages = await consumer.consume({ max_messages: 2_000 });
  let n = 0;
  try {
    for await (const m of messages) {
      await each(m);
      n++;
      if (m.seq >= last) break;
    }
  } finally {
    await messages.close().catch(() => undefined);
  }
  return n;
}

export interface RebuildOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  readonly store: PgHistoryStore;
  /** @default 'EVENTS' */
  readonly eventStream?: string;
  /** @default 'MARKET' */
  readonly marketStream?: string;
  /** @default '' */
  readonly namespace?: string;
  /** @default DEFAULT_INSTRUMENTS */
  readonly instruments?: readonly Instrument[];
  /** Events per write. @default 2_000 */
  readonly batch?: number;
  /** Told of progress now and then. @default none */
  readonly progress?: (what: string, done: number) => void;
}

/** Empty the history and fold both streams in again. Resolves with what was read and written. */
export async function rebuildHistory(o: RebuildOptions): Promise<{ messages: number; events: number; ticks: number; marks: number }> {
  await o.store.clear();
  const decoder = new Decoder();
  let pending: HistoryEvent[] = [];
  let events = 0;
  const write = async (): Promise<void> => {
    events += (await o.store.ingest(pending)).length;
    pending = [];
    o.progress?.('events', events);
  };
  const messages = await readStream(o.js, o.jsm, o.eventStream ?? DEFAULT_EVENTS_STREAM, 1, async (m) => {
    let body: unknown;
    try {
      body = decoder.decode(m.data);
    } catch {
      return; // not an event the engine published
    }
    const e = body as Partial<HistoryEvent>;
    if (typeof e?.type !== 'string' || typeof e.assessmentId !== 'string' || eventSubject(e.type) === undefined) return;
    pending.push(body as HistoryEvent);
    if (pending.length >= (o.batch ?? 2_000)) await write();
  });
  if (pending.length > 0) await write();

  const recorder = new MarkRecorder({ maxPending: Number.MAX_SAFE_INTEGER });
  let ticks = 0;
  let marks = 0;
  const market = new JetStreamMarketLog(o.js, o.jsm, {
    stream: o.marketStream ?? DEFAULT_MARKET_STREAM,
    namespace: o.namespace ?? '',
    instruments: o.instruments ?? DEFAULT_INSTRUMENTS,
  });
  const last = await market.tail();
  if (last > 0) {
    const reader = market.open(1);
    for await (const input of reader) {
      recorder.add(input);
      if (input.type === 'tick') ticks++;
      if (recorder.pending >= 5_000) {
        const m = recorder.take();
        await o.store.recordMarks(m);
        marks += m.length;
      }
      if (input.seq >= last) break;
    }
    await reader.stop();
  }
  const rest = recorder.take();
  await o.store.recordMarks(rest);
  marks += rest.length;
  return { messages, events, ticks, marks };
}

export interface CutTapeOptions {
  readonly js: JetStreamClient;
  readonly jsm: JetStreamManager;
  /** The database of the journal and the history. */
  readonly sql: postgres.Sql;
  readonly assessmentId: string;
  /** @default 'MARKET' */
  readonly marketStream?: string;
  /** @default '' */
  readonly namespace?: string;
  /** @default DEFAULT_INSTRUMENTS */
  readonly instruments?: readonly Instrument[];
}

/** Raised when an assessment has no journaled creation to cut a tape from. */
export class TapeNotFoundError extends Error {
  readonly code = 'TAPE_NOT_FOUND';
  constructor(message: string) {
    super(message);
    this.name = 'TapeNotFoundError';
  }
}

/** The assessment's inputs, in the order the engine applied them (see the module comment). */
export async function cutTape(o: CutTapeOptions): Promise<EngineInput[]> {
  const rows = await o.sql<{ command: string; tick_watermark: string }[]>`
    select command::text as command, tick_watermark from journal where assessment_id = ${o.assessmentId} order by position`;
  const journal = rows.map((r) => ({ input: decodeJson<JournalInput>(r.command), watermark: Number(r.tick_watermark) }));
  const created = journal.findIndex((j) => j.input.type === 'create');
  if (created < 0) throw new TapeNotFoundError(`assessment '${o.assessmentId}' has no creation in the journal`);
  const start = journal[created]!.watermark;
  const [ended] = await o.sql<
    { ended_at: string | null }[]
  >`select ended_at from history_assessments where assessment_id = ${o.assessmentId}`;
  const endedAt = ended?.ended_at === null || ended?.ended_at === undefined ? Infinity : Number(ended.ended_at);
  const market = new JetStreamMarketLog(o.js, o.jsm, {
    stream: o.marketStream ?? DEFAULT_MARKET_STREAM,
    namespace: o.namespace ?? '',
    instruments: o.instruments ?? DEFAULT_INSTRUMENTS,
  });
  const last = await market.tail();
  // The market before the creation, as the engine's book held it.
  const before = new Map<string, MarketInput>();
  const after: MarketInput[] = [];
  if (last > 0) {
    const reader = market.open(1);
    for await (const input of reader) {
      if (input.seq <= start) {
        const key =
          input.type === 'tick'
            ? `t:${input.symbol}`
            : input.type === 'clock'
              ? 'clock'
              : input.type === 'instrument'
                ? `i:${input.instrument.symbol}`
                : `r:${input.market}:${input.seq}`;
        before.delete(key); // re-inserted last: the map keeps seq order
        before.set(key, input);
      } else {
        if (input.type !== 'instrument' && (input.type === 'clock' ? input.time : input.ts) > endedAt) break;
        after.push(input);
      }
      if (input.seq >= last) break;
    }
    await reader.stop();
  }
  const out: EngineInput[] = [];
  const strip = (m: MarketInput): EngineInput =>
    m.type === 'clock' ? { type: 'clock', time: m.time } : m.type === 'instrument' ? { type: 'instrument', instrument: m.instrument } : m;
  const journaled = (watermark: number): void => {
    for (const j of journal) if (j.watermark === watermark) out.push(j.input);
  };
  for (const m of [...before.values()].sort((a, b) => a.seq - b.seq)) out.push(strip(m));
  for (const j of journal) if (j.watermark <= start) out.push(j.input);
  for (const m of after) {
    out.push(strip(m));
    journaled(m.seq);
  }
  return out;
}
