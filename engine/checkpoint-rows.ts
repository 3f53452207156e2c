/**
 * Checkpoint rows encoded where the states live. A shard worker turns the
 * actors of a checkpoint into the bytes Postgres takes through COPY (UTF-8
 * text), in chunks of a bounded number of rows, and transfers them: the main
 * thread receives a few buffers per shard (no copy, no string to rebuild or
 * encode) instead of a graph of state objects; it only streams the chunks,
 * one per turn. The node's and the cluster's checkpoint stores both write these rows.
 *
 * One row is one line: `assessment_id`, the virtual shard's key, the state as
 * tagged JSON text, `t`/`f` for quarantined, and the event cursor's input and
 * count (`\N` when the actor has none), tab-separated, COPY text escaping.
 */
import { encodeJson } from './json-codec.js';
import { shardKey, shardOf } from './shard.js';
import type { ActorSnapshot, KernelSnapshot } from './shard-kernel.js';

/** Rows of many actors, in COPY text format. */
export interface ActorRows {
  /** Rows in all chunks. */
  readonly count: number;
  /** Lines as UTF-8 bytes, each chunk ending in a newline; concatenated they are the COPY input. Each owns its buffer (transferable). */
  readonly chunks: readonly Uint8Array[];
  /** States whose UTF-8 text exceeds the limit asked for (they are written all the same). */
  readonly oversized: readonly { readonly assessmentId: string; readonly bytes: number }[];
}

/** How to encode a checkpoint's actors. */
export interface ActorRowsOptions {
  /** Group the rows by virtual shard (the cluster writes per shard). @default false */
  readonly byShard?: boolean;
  /** Report states whose text is larger, in UTF-8 bytes. @default no limit */
  readonly maxStateBytes?: number | undefined;
  /** Rows per chunk: the most the main thread handles in one turn. @default 500 */
  readonly chunkRows?: number;
}

/** A checkpoint as encoded rows: the kernel's shared state, and the changed actors' rows, all together or by virtual shard. */
export interface EncodedCheckpoint {
  readonly lastInput: number;
  readonly meta: Omit<KernelSnapshot, 'actors'>;
  /** Every row (also when grouped). */
  readonly count: number;
  /** All rows, when not grouped by shard. */
  readonly all?: ActorRows;
  /** Rows per virtual shard, when grouped. */
  readonly byShard?: ReadonlyMap<number, ActorRows>;
}

/** One row read back from its line. */
export interface ActorRow {
  readonly assessmentId: string;
  readonly shardKey: string;
  readonly state: string;
  readonly quarantined: boolean;
  readonly cursorInput: string | null;
  readonly cursorN: string | null;
}

/** COPY text format: backslash is the only escape JSON text and ids can need (JSON has no raw tabs or newlines). */
export function copyField(s: string): string {
  return s.includes('\\') || s.includes('\t') || s.includes('\n')
    ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n')
    : s;
}

function uncopyField(s: string): string {
  return s.includes('\\') ? s.replace(/\\(.)/g, (_m, c: string) => (c === 't' ? '\t' : c === 'n' ? '\n' : c)) : s;
}

/** Room of a builder's work buffer: a chunk of 500 rows of ~1 KB fits. Longer lines grow it. */
const WORK_BYTES = 1 << 20;

/**
 * Lines are written as UTF-8 straight into a work buffer, and a chunk is cut
 * as an exact copy of its bytes (one memcpy): no joined chunk string and no
 * second encoding pass over it, and each chunk owns its buffer (transferable).
 */
class RowsBuilder {
  count = 0;
  readonly chunks: Uint8Array[] = [];
  readonly oversized: { assessmentId: string; bytes: number }[] = [];
  readonly chunkRows: number;
  #work: Buffer | undefined;
  #at = 0;
  #rows = 0;
  constructor(chunkRows: number) {
    this.chunkRows = chunkRows;
  }
  add(line: string): void {
    // A UTF-16 unit is at most 3 bytes of UTF-8: with that much room the line fits.
    const most = line.length * 3;
    if (this.#work === undefined || this.#work.length - this.#at < most) {
      this.#cut();
      if (this.#work === undefined || this.#work.length < most) this.#work = Buffer.allocUnsafe(Math.max(WORK_BYTES, most));
    }
    this.#at += this.#work.write(line, this.#at);
    this.count++;
    if (++this.#rows >= this.chunkRows) this.#cut();
  }
  #cut(): void {
    if (this.#rows > 0) this.chunks.push(new Uint8Array(this.#work!.buffer, this.#work!.byteOffset, this.#at).slice());
    this.#at = 0;
    this.#rows = 0;
  }
  done(): ActorRows {
    this.#cut();
    this.#work = undefined;
    return { count: this.count, chunks: this.chunks, oversized: this.oversized };
  }
}

/** Encode actors as rows (in a shard worker for checkpoints; anywhere for a hand-over's few). */
export function encodeActorRows(
  actors: readonly ActorSnapshot[],
  options: ActorRowsOptions = {},
): { all?: ActorRows; byShard?: Map<number, ActorRows> } {
  const chunkRows = options.chunkRows ?? 500;
  const limit = options.maxStateBytes ?? Infinity;
  const groups = new Map<number, RowsBuilder>();
  const one = new RowsBuilder(chunkRows);
  for (const a of actors) {
    const id = a.state.id;
    const v = shardOf(id);
    const text = encodeJson(a.state);
    const b = options.byShard === true ? (groups.get(v) ?? groups.set(v, new RowsBuilder(chunkRows)).get(v)!) : one;
    // A UTF-8 byte is at most 3 per UTF-16 unit: most states are decided without counting bytes.
    if (text.length * 3 > limit) {
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > limit) b.oversized.push({ assessmentId: id, bytes });
    }
    const c = a.cursor;
    b.add(
      `${copyField(id)}\t${shardKey(v)}\t${copyField(text)}\t${a.quarantined ? 't' : 'f'}\t${c === undefined ? '\\N' : c[0]}\t${c === undefined ? '\\N' : c[1]}\n`,
    );
  }
  if (options.byShard !== true) return { all: one.done() };
  return { byShard: new Map([...groups].map(([v, b]) => [v, b.done()])) };
}

/** Encode a kernel's checkpoint (the worker's side of `Engine.checkpointRows`). */
export function encodeCheckpoint(k: KernelSnapshot, options: ActorRowsOptions = {}): EncodedCheckpoint {
  const { actors, ...meta } = k;
  return { lastInput: k.lastInput, meta, count: actors.length, ...encodeActorRows(actors, options) };
}

/** Join the shard workers' parts of one checkpoint (the same boundary in each). */
export function mergeEncoded(parts: readonly EncodedCheckpoint[], lastInput: number): EncodedCheckpoint {
  // Every shard sees every tick, so the newest market position is the engine's.
  const meta = { ...parts[0]!.meta, lastTickSeq: Math.max(...parts.map((p) => p.meta.lastTickSeq)), lastInput };
  const count = parts.reduce((s, p) => s + p.count, 0);
  if (parts.every((p) => p.all !== undefined)) return { lastInput, meta, count, all: concatRows(parts.map((p) => p.all!)) };
  const by = new Map<number, ActorRows[]>();
  for (const p of parts) for (const [v, r] of p.byShard ?? []) by.set(v, [...(by.get(v) ?? []), r]);
  return { lastInput, meta, count, byShard: new Map([...by].map(([v, rs]) => [v, concatRows(rs)])) };
}

/** Rows of several groups as one. */
export function concatRows(rows: readonly ActorRows[]): ActorRows {
  if (rows.length === 1) return rows[0]!;
  return {
    count: rows.reduce((s, r) => s + r.count, 0),
    chunks: rows.flatMap((r) => r.chunks),
    oversized: rows.flatMap((r) => r.oversized),
  };
}

/** The buffers of an encoded checkpoint's rows, to transfer rather than copy across threads. */
export function rowBuffers(e: EncodedCheckpoint): ArrayBuffer[] {
  const rows = e.all !== undefined ? [e.all] : [...(e.byShard?.values() ?? [])];
  return rows.flatMap((r) => r.chunks.map((c) => c.buffer as ArrayBuffer));
}

/** Read rows back from their lines (for a store without COPY, and for tests). */
export function* parseActorRows(rows: ActorRows): Generator<ActorRow> {
  const text = new TextDecoder();
  for (const bytes of rows.chunks) {
    const chunk = text.decode(bytes);
    let at = 0;
    while (at < chunk.length) {
      const end = chunk.indexOf('\n', at);
      const f = chunk.slice(at, end).split('\t');
      at = end + 1;
      yield {
        assessmentId: uncopyField(f[0]!),
        shardKey: f[1]!,
        state: uncopyField(f[2]!),
        quarantined: f[3] === 't',
        cursorInput: f[4] === '\\N' ? null : f[4]!,
        cursorN: f[5] === '\\N' ? null : f[5]!,
      };
    }
  }
}
