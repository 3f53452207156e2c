/**
 * Worker-thread entry: one shard kernel, fed batches of inputs in order.
 * Everything the kernel emits goes back to the engine with the batch's ack.
 */
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import { encodeCheckpoint, rowBuffers } from './checkpoint-rows.js';
import { DeltaEncoder } from './delta-encoding.js';
import type { OutputEvent } from './inputs.js';
import { LatencyRecorder } from './latency-recorder.js';
import { ShardKernel } from './shard-kernel.js';
import { shardOf } from './shard.js';
import { TICK_STRIDE } from './tick-packer.js';
import type { FromShard, LatencyReport, ShardMemory, ShardWorkerData, ToShard } from './worker-protocol.js';

const port = parentPort!;
const data = workerData as ShardWorkerData;
let kernel =
  data.snapshot !== undefined
    ? ShardKernel.restore(data.snapshot, { mode: data.mode })
    : new ShardKernel({ mode: data.mode, tiers: data.tiers, instruments: data.instruments });
const latency = new LatencyRecorder();
/** The same latency without the thread hop: from the shard starting the batch to the tick's verdict. */
const inShard = new LatencyRecorder();
/** From the engine sending a batch to the shard starting it: the hop, and any wait behind the shard's own work. */
const queued = new LatencyRecorder();
/** The part of `queued` spent behind the shard's own earlier work (a batch, its ack, a flush): the rest is the hop. */
const behind = new LatencyRecorder();
/** When the shard last finished a task, on the shared clock (measured only with `measureLatency`). */
let lastTaskEndAbs = 0;
/** Longest run of the shard's own work (a batch, a delta flush) and longest GC pause since the last report, ms. */
let longestTaskMs = 0;
/** Longest ack send (the events' structured clone happens in it, on this thread) and the most events in one ack. */
let longestAckMs = 0;
let mostEventsPerAck = 0;
let gcMaxMs = 0;
let gcMs = 0;
if (data.measureLatency) {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcMs += e.duration;
      if (e.duration > gcMaxMs) gcMaxMs = e.duration;
    }
  }).observe({ entryTypes: ['gc'] });
}
// Both threads read the same clock origin, so main's send time and our finish time compare.
const clock = (): number => performance.timeOrigin + performance.now();
let busyMs = 0;
const symbols: string[] = [];

function send(msg: FromShard, transfer?: ArrayBuffer[]): void {
  port.postMessage(msg, transfer);
}

port.on('message', (msg: ToShard) => {
  try {
    handle(msg);
  } catch (err) {
    send({ t: 'fatal', error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
  }
  if (data.measureLatency) lastTaskEndAbs = clock();
});

/** The last input acked: a part of a split ack repeats it (it acks nothing new). */
let ackedUpTo = data.snapshot?.lastInput ?? -1;
/**
 * Events per ack message at most. A flash move's batch emits thousands of events, and the ack's structured
 * clone runs on this thread: sent whole, every batch arriving meanwhile would wait for all of it. Split,
 * the batches waiting between two parts are applied first (their ticks judged), their acks queued after.
 */
const ACK_PART = 256;

/** Applied and not yet acked (inputs whose batches emitted no events), held at most `ackDelayMs`. */
let held: { upTo: number; count: number } | undefined;
let heldTimer: NodeJS.Timeout | undefined;
const ackDelayMs = data.ackDelayMs ?? 0;

/** Ack a batch: at once when it emitted events (with anything held), else held to merge with the next. */
function ack(upTo: number, count: number, events: OutputEvent[]): void {
  if (events.length === 0 && ackDelayMs > 0) {
    held = { upTo, count: count + (held?.count ?? 0) };
    heldTimer ??= setTimeout(sendHeldAck, ackDelayMs);
    return;
  }
  const all = count + (held?.count ?? 0);
  dropHeld();
  const start = performance.now();
  send({ t: 'ack', upTo, count: all, events, stats: { ...kernel.stats }, busyMs });
  ackedUpTo = upTo;
  const took = performance.now() - start;
  if (took > longestAckMs) longestAckMs = took;
  if (events.length > mostEventsPerAck) mostEventsPerAck = events.length;
}

/** A part of a split ack: events only (`count` 0, `upTo` what was already acked). */
function ackPart(events: OutputEvent[]): void {
  const start = performance.now();
  send({ t: 'ack', upTo: ackedUpTo, count: 0, events, stats: { ...kernel.stats }, busyMs });
  const took = performance.now() - start;
  if (took > longestAckMs) longestAckMs = took;
}

/**
 * Ack an applied batch, splitting a large ack into parts of {@link ACK_PART}
 * events; between parts, input batches already waiting on the port are
 * applied, and acked after it, in order. The first other message pulled stops
 * the pulling; it is handled once every ack before it is sent.
 */
function ackSplitting(upTo: number, count: number, events: OutputEvent[]): void {
  if (events.length <= ACK_PART) return ack(upTo, count, events);
  if (events.length > mostEventsPerAck) mostEventsPerAck = events.length;
  const queue = [{ upTo, count, events, from: 0 }];
  let next: ToShard | undefined;
  while (queue.length > 0) {
    const a = queue[0]!;
    if (a.events.length - a.from <= ACK_PART) {
      queue.shift();
      ack(a.upTo, a.count, a.from === 0 ? a.events : a.events.slice(a.from));
      continue;
    }
    for (let m: { message: ToShard } | undefined; next === undefined && (m = receiveMessageOnPort(port)) !== undefined; ) {
      if (m.message.t !== 'inputs') next = m.message;
      else {
        if (data.measureLatency) lastTaskEndAbs = clock(); // it waited behind this thread's work
        const r = applyInputs(m.message);
        queue.push({ upTo: r.upTo, count: r.count, events: kernel.drainEvents(), from: 0 });
      }
    }
    ackPart(a.events.slice(a.from, a.from + ACK_PART));
    a.from += ACK_PART;
  }
  if (next !== undefined) handle(next);
}

function sendHeldAck(): void {
  const h = held;
  dropHeld();
  if (h === undefined) return;
  send({ t: 'ack', upTo: h.upTo, count: h.count, events: [], stats: { ...kernel.stats }, busyMs });
  ackedUpTo = h.upTo;
}

function dropHeld(): void {
  held = undefined;
  clearTimeout(heldTimer);
  heldTimer = undefined;
}

/** Apply one input batch (ticks and other inputs merged by input position), recording each tick's verdict time. */
function applyInputs(msg: Extract<ToShard, { t: 'inputs' }>): { upTo: number; count: number } {
  const start = performance.now();
  const startAbs = data.measureLatency ? clock() : 0;
  if (data.measureLatency) {
    queued.record(startAbs - msg.sentAt);
    behind.record(Math.max(0, Math.min(startAbs, lastTaskEndAbs) - msg.sentAt));
  }
  for (const sym of msg.newSymbols) symbols.push(sym);
  const { batch, ticks } = msg;
  const nTicks = ticks === undefined ? 0 : ticks.length / TICK_STRIDE;
  let b = 0;
  let upTo = -1;
  // Merge the two ordered streams by input position.
  for (let k = 0; k < nTicks || b < batch.length; ) {
    const o = k * TICK_STRIDE;
    if (k < nTicks && (b >= batch.length || ticks![o]! < batch[b]!.i)) {
      const bs = ticks![o + 6]!;
      const as = ticks![o + 7]!;
      kernel.applyTick(
        ticks![o]!,
        ticks![o + 8]!,
        ticks![o + 1]!,
        ticks![o + 2]!,
        symbols[ticks![o + 3]!]!,
        ticks![o + 4]!,
        ticks![o + 5]!,
        Number.isNaN(bs) ? undefined : bs,
        Number.isNaN(as) ? undefined : as,
      );
      upTo = ticks![o]!;
      k++;
      if (data.measureLatency) {
        const now = clock();
        latency.record(now - msg.sentAt);
        inShard.record(now - startAbs);
      }
    } else {
      const si = batch[b++]!;
      kernel.apply(si);
      upTo = si.i;
    }
  }
  busyMs += performance.now() - start;
  return { upTo, count: nTicks + batch.length };
}

function handle(msg: ToShard): void {
  switch (msg.t) {
    case 'inputs': {
      const start = performance.now();
      const { upTo, count } = applyInputs(msg);
      ackSplitting(upTo, count, kernel.drainEvents());
      const took = performance.now() - start; // with the ack: structured-cloning the events is the shard's work too
      if (took > longestTaskMs) longestTaskMs = took;
      break;
    }
    case 'watch':
      kernel.watch(msg.ids, msg.on);
      break;
    case 'adopt':
      kernel.adopt(msg.actors);
      break;
    case 'sync':
      sendHeldAck();
      break;
    case 'request': {
      sendHeldAck(); // a reply never overtakes the ack of the inputs before it
      let reply: unknown;
      let transfer: ArrayBuffer[] | undefined;
      if (msg.what === 'snapshot')
        reply = kernel.snapshot({ copy: false }); // postMessage copies it
      else if (msg.what === 'checkpoint')
        reply = kernel.checkpoint(msg.full, { copy: false }); // postMessage copies it
      else if (msg.what === 'checkpoint-rows') {
        const encoded = encodeCheckpoint(kernel.checkpoint(msg.full, { copy: false }), msg.rows); // encoded at once: the live states are not kept
        reply = encoded;
        transfer = rowBuffers(encoded); // the rows' bytes move to the main thread, not copied
      } else if (msg.what === 'state') reply = kernel.state(msg.assessmentId);
      else if (msg.what === 'ids') reply = kernel.assessmentIds();
      else if (msg.what === 'release') {
        const shards = new Set(msg.shards);
        const next = kernel.without((id) => shards.has(shardOf(id)));
        kernel = next.kernel;
        reply = next.removed;
      } else if (msg.what === 'memory') {
        const h = getHeapStatistics();
        reply = { usedHeap: h.used_heap_size, totalHeap: h.total_heap_size } satisfies ShardMemory;
      } else {
        reply = {
          count: latency.count,
          p50: latency.percentile(50),
          p99: latency.percentile(99),
          max: latency.max,
          inShardP50: inShard.percentile(50),
          inShardP99: inShard.percentile(99),
          inShardMax: inShard.max,
          queuedP99: queued.percentile(99),
          queuedMax: queued.max,
          behindP99: behind.percentile(99),
          behindMax: behind.max,
          longestTaskMs,
          longestAckMs,
          mostEventsPerAck,
          gcMaxMs,
          gcMs,
        } satisfies LatencyReport;
        latency.reset();
        inShard.reset();
        queued.reset();
        behind.reset();
        longestTaskMs = longestAckMs = mostEventsPerAck = gcMaxMs = gcMs = 0;
      }
      send({ t: 'reply', req: msg.req, data: reply }, transfer);
      break;
    }
  }
}

if (data.flushIntervalMs > 0) {
  // One slice of the assessments per tick of the timer: each still gets a delta per interval, but the
  // main thread gets them spread out rather than all at once (no burst for the gateway to queue behind).
  const slices = Math.max(1, Math.floor(data.deltaSlices ?? 1));
  const encoder = data.encodeDeltas === true ? new DeltaEncoder() : undefined;
  let slice = 0;
  const flush = (): void => {
    const start = performance.now();
    try {
      flushSlice();
    } finally {
      longestTaskMs = Math.max(longestTaskMs, performance.now() - start);
      if (data.measureLatency) lastTaskEndAbs = clock();
    }
  };
  const flushSlice = (): void => {
    const deltas = kernel.takeDeltas(slice, slices);
    slice = (slice + 1) % slices;
    if (deltas.length === 0) return;
    if (encoder === undefined) return send({ t: 'deltas', deltas });
    const batch = encoder.encode(deltas);
    send({ t: 'encoded-deltas', batch }, [
      batch.bytes.buffer,
      batch.ends.buffer,
      batch.equity.buffer,
      batch.startingBalance.buffer,
    ] as ArrayBuffer[]);
  };
  // Each slice at the next instant ≡ this shard's phase (mod the slice time) on the wall clock every shard
  // reads: the shards' slices reach the main thread in turn rather than together, and do not drift.
  const sliceMs = data.flushIntervalMs / slices,
    phase = data.deltaPhaseMs ?? 0;
  const boundaryAfter = (t: number): number => t + sliceMs - ((((t - phase) % sliceMs) + sliceMs) % sliceMs);
  let due = boundaryAfter(clock());
  const next = (): void => {
    // Timers run on a whole-ms clock and may fire a fraction early: aim at the boundary, not at now + a slice.
    setTimeout(
      () => {
        flush();
        due += sliceMs;
        if (due < clock()) due = boundaryAfter(clock()); // fell behind: skip to the next boundary, no burst
        next();
      },
      Math.max(0, due - clock()),
    ).unref();
  };
  next();
}
