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

/** Room of the work buffer: a chunk of 500 rows of ~1 KB fits. A longer row grows it. */
const WORK_BYTES = 1 << 20;

/**
 * Writes rows as UTF-8 straight into one work buffer and cuts each chunk as
 * an exact copy of its bytes (one memcpy): no line or chunk string is built
 * around a state's text and nothing is encoded twice, and each chunk owns its
 * buffer (transferable). Groups are written one after the other, so one
 * work buffer serves them all.
 */
class RowsWriter {
  #work: Buffer = Buffer.allocUnsafe(WORK_BYTES);
  #at = 0;
  #rows = 0;
  readonly #chunkRows: number;
  readonly #limit: number;
  constructor(chunkRows: number, limit: number) {
    this.#chunkRows = chunkRows;
    this.#limit = limit;
  }

  rows(actors: readonly ActorSnapshot[], v?: number): ActorRows {
    const chunks: Uint8Array[] = [];
    const oversized: { assessmentId: string; bytes: number }[] = [];
    for (const a of actors) {
      const id = a.state.id;
      const json = encodeJson(a.state);
      // A UTF-8 byte is at most 3 per UTF-16 unit: most states are decided without counting bytes.
      if (json.length * 3 > this.#limit) {
        const bytes = Buffer.byteLength(json, 'utf8');
        if (bytes > this.#limit) oversized.push({ assessmentId: id, bytes });
      }
      const text = copyField(json);
      const c = a.cursor;
      const head = `${copyField(id)}\t${shardKey(v ?? shardOf(id))}\t`;
      const tail = `\t${a.quarantined ? 't' : 'f'}\t${c === undefined ? '\\N' : c[0]}\t${c === undefined ? '\\N' : c[1]}\n`;
      const most = (head.length + text.length + tail.length) * 3;
      if (this.#work.length - this.#at < most) {
        this.#cut(chunks);
        if (this.#work.length < most) this.#work = Buffer.allocUnsafe(most);
      }
      this.#at += this.#work.write(head, this.#at);
      this.#at += this.#work.write(text, this.#at);
      this.#at += this.#work.write(tail, this.#at);
      if (++this.#rows >= this.#chunkRows) this.#cut(chunks);
    }
    this.#cut(chunks);
    return { count: actors.length, chunks, oversized };
  }

  #cut(chunks: Uint8Array[]): void {
    if (this.#rows > 0) chunks.push(new Uint8Array(this.#work.buffer, this.#work.byteOffset, this.#at).slice());
    this.#at = 0;
    this.#rows = 0;
  }
}

/** Encode actors as rows (in a shard worker for checkpoints; anywhere for a hand-over's few). */
export function encodeActorRows(
  actors: readonly ActorSnapshot[],
  options: ActorRowsOptions = {},
): { all?: ActorRows; byShard?: Map<number, ActorRows> } {
  const writer = new RowsWriter(options.chunkRows ?? 500, options.maxStateBytes ?? Infinity);
  if (options.byShard !== true) return { all: writer.rows(actors) };
  // Grouped first (each group in the actors' order), then written group by group.
  const groups = new Map<number, ActorSnapshot[]>();
  for (const a of actors) {
    const v = shardOf(a.state.id);
    const list = groups.get(v);
    if (list === undefined) groups.set(v, [a]);
    else list.push(a);
  }
  return { byShard: new Map([...groups].map(([v, list]) => [v, writer.rows(list, v)])) };
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
