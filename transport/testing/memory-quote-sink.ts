/**
 * A {@link QuoteSink} that keeps what it is given, in order, deduplicating
 * by msg id as the stream would; and a logger that keeps its lines. For
 * tests of connection life where the stream itself is not under test.
 */
import type { ResolutionMessage, TickMessage } from '../nats/index.js';
import type { QuoteSink, ConnectorLog } from '../market-data/index.js';

/** A tick as published, with its msg id. */
export interface SunkTick extends TickMessage {
  readonly msgId: string;
}

/** See the module comment. */
export class MemoryQuoteSink implements QuoteSink {
  readonly ticks: SunkTick[] = [];
  readonly resolutions: ResolutionMessage[] = [];
  readonly #ids = new Set<string>();
  duplicates = 0;

  publishTick(tick: TickMessage, msgId: string): Promise<{ duplicate: boolean }> {
    if (this.#ids.has(msgId)) {
      this.duplicates++;
      return Promise.resolve({ duplicate: true });
    }
    this.#ids.add(msgId);
    this.ticks.push({ ...tick, msgId });
    return Promise.resolve({ duplicate: false });
  }

  publishResolution(r: ResolutionMessage): Promise<{ duplicate: boolean }> {
    const id = `${r.venue}:${r.market}:resolved`;
    if (this.#ids.has(id)) return Promise.resolve({ duplicate: true });
    this.#ids.add(id);
    this.resolutions.push(r);
    return Promise.resolve({ duplicate: false });
  }

  /** Ticks of one symbol. */
  of(symbol: string): SunkTick[] {
    return this.ticks.filter((t) => t.symbol === symbol);
  }
}

/** One log line. */
export interface LogLine {
  readonly level: 'info' | 'warn' | 'error';
  readonly msg: string;
  readonly obj: Readonly<Record<string, unknown>>;
}

/** A {@link ConnectorLog} that keeps every line. */
export class MemoryLog implements ConnectorLog {
  readonly lines: LogLine[] = [];
  info(obj: object, msg: string): void {
    this.lines.push({ level: 'info', msg, obj: obj as Record<string, unknown> });
  }
  warn(obj: object, msg: string): void {
    this.lines.push({ level: 'warn', msg, obj: obj as Record<string, unknown> });
  }
  error(obj: object, msg: string): void {
    this.lines.push({ level: 'error', msg, obj: obj as Record<string, unknown> });
  }
  /** Lines with this message. */
  with(msg: string): LogLine[] {
    return this.lines.filter((l) => l.msg === msg);
  }
}
