/**
 * Where engine snapshots live. The engine never imports a store: the process
 * that owns the engine takes a snapshot and hands it to one.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { EngineSnapshot } from '../engine/index.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot-codec.js';

export interface SnapshotStore {
  /** Keep a snapshot; a snapshot older (by `lastInput`) than the one held is refused and returns false. */
  save(snapshot: EngineSnapshot): Promise<boolean>;
  /** The newest snapshot, or undefined. */
  load(): Promise<EngineSnapshot | undefined>;
}

/** In-process store, for tests and the embedded default. */
export class MemorySnapshotStore implements SnapshotStore {
  #text: string | undefined;
  #lastInput = -Infinity;

  async save(snapshot: EngineSnapshot): Promise<boolean> {
    if (snapshot.lastInput < this.#lastInput) return false;
    this.#text = encodeSnapshot(snapshot); // stored encoded, so a caller's later mutation cannot reach it
    this.#lastInput = snapshot.lastInput;
    return true;
  }

  async load(): Promise<EngineSnapshot | undefined> {
    return this.#text === undefined ? undefined : decodeSnapshot(this.#text);
  }
}

/** A snapshot file under a data directory, replaced atomically (write, then rename). */
export class FileSnapshotStore implements SnapshotStore {
  readonly #dir: string;
  readonly #file: string;

  /** @param dir data directory, created when missing */
  constructor(dir: string) {
    this.#dir = dir;
    this.#file = join(dir, 'engine-snapshot.json');
  }

  async save(snapshot: EngineSnapshot): Promise<boolean> {
    const held = await this.load();
    if (held !== undefined && held.lastInput > snapshot.lastInput) return false;
    await mkdir(this.#dir, { recursive: true });
    const tmp = `${this.#file}.${process.pid}.tmp`;
    await writeFile(tmp, encodeSnapshot(snapshot));
    await rename(tmp, this.#file);
    return true;
  }

  async load(): Promise<EngineSnapshot | undefined> {
    try {
      return decodeSnapshot(await readFile(this.#file, 'utf8'));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}
