/**
 * Request/reply entry to an engine node over core NATS, for processes that
 * do not hold the node (gateways, the crash-test driver, operators' tools):
 *
 * - `engine.<group>.intake`: a msgpack `IntakeRequest`; the reply is the
 *   msgpack `IntakeResult`, sent only after the request is durable.
 * - `engine.<group>.inspect`: any payload; the reply is the node's marks and
 *   each assessment's state digest at one input boundary.
 *
 * A malformed or oversized request gets `{ ok: false, code: 'MALFORMED_REQUEST' }`
 * with what was wrong, and is counted; it never reaches the node.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { stateDigest, type IntakeRequest, type IntakeResult, type NodeInspection } from '../../engine/index.js';
import { withNamespace } from './subjects.js';

/** What the service needs of a node. */
export interface IntakeTarget {
  offer(req: IntakeRequest): Promise<IntakeResult>;
  inspect(): Promise<NodeInspection>;
  readonly ready: Promise<void>;
}

/** The inspect reply. */
export interface InspectReply {
  readonly tickSeq: number;
  readonly journalPos: number;
  readonly inputPos: number;
  /** [assessment id, sha-256 of its canonical state JSON], sorted by id. */
  readonly digests: Array<[string, string]>;
}

/** Options of {@link IntakeService}. */
export interface IntakeServiceOptions {
  /** Shard group served. @default 'default' */
  readonly group?: string;
  /** Subject namespace. @default '' */
  readonly namespace?: string;
  /** Largest request accepted, bytes. @default 16_384 */
  readonly maxRequestBytes?: number;
  /** Called for each refused request (for a log line and a metric). */
  readonly onMalformed?: (reason: string) => void;
}

/** Subjects of the intake service of `group`. */
export function intakeSubjects(group = 'default', namespace = ''): { intake: string; inspect: string } {
  return { intake: withNamespace(`engine.${group}.intake`, namespace), inspect: withNamespace(`engine.${group}.inspect`, namespace) };
}

/** Serves a node's intake over NATS until `stop()`. */
export class IntakeService {
  readonly #subs: Subscription[] = [];
  readonly #encoder = new Encoder({ ignoreUndefined: true });
  readonly #decoder: Decoder;

  constructor(nc: NatsConnection, target: IntakeTarget, options: IntakeServiceOptions = {}) {
    const max = options.maxRequestBytes ?? 16_384;
    // No extension types from outside: a crafted ext payload must not reach a decoder hook.
    this.#decoder = new Decoder({ maxStrLength: max, maxBinLength: max, maxArrayLength: 1_024, maxMapLength: 256, maxExtLength: 0 });
    const subjects = intakeSubjects(options.group, options.namespace);
    const refuse = (reason: string): IntakeResult => {
      options.onMalformed?.(reason);
      return { ok: false, code: 'MALFORMED_REQUEST', message: reason };
    };
    this.#subs.push(
      nc.subscribe(subjects.intake, {
        queue: subjects.intake,
        callback: (err, msg) => {
          if (err !== null) return;
          let req: IntakeRequest;
          if (msg.data.length > max)
            return void msg.respond(this.#encoder.encode(refuse(`request is ${msg.data.length} bytes; the limit is ${max}`)));
          try {
            req = parseRequest(this.#decoder.decode(msg.data));
          } catch (e) {
            return void msg.respond(this.#encoder.encode(refuse(e instanceof Error ? e.message : String(e))));
          }
          void target.offer(req).then((r) => msg.respond(this.#encoder.encode(r)));
        },
      }),
    );
    this.#subs.push(
      nc.subscribe(subjects.inspect, {
        callback: (err, msg) => {
          if (err !== null) return;
          void target.ready
            .then(() => target.inspect())
            .then((seen) => {
              const reply: InspectReply = {
                tickSeq: seen.tickSeq,
                journalPos: seen.journalPos,
                inputPos: seen.inputPos,
                digests: seen.snapshot.kernel.actors.map((a) => [a.state.id, stateDigest(a.state)]),
              };
              msg.respond(this.#encoder.encode(reply));
            })
            .catch((e: unknown) =>
              msg.respond(this.#encoder.encode({ ok: false, code: 'INSPECT_FAILED', message: e instanceof Error ? e.message : String(e) })),
            );
        },
      }),
    );
  }

  /** Stop serving; requests in flight still get their replies. */
  async stop(): Promise<void> {
    for (const s of this.#subs) s.unsubscribe();
  }
}

function parseRequest(body: unknown): IntakeRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new Error('request is not a msgpack map');
  const b = body as Record<string, unknown>;
  if (typeof b['assessmentId'] !== 'string') throw new Error('missing or invalid field "assessmentId"');
  if (b['kind'] === 'create') {
    if (typeof b['traderId'] !== 'string') throw new Error('missing or invalid field "traderId"');
    if (typeof b['tierId'] !== 'string') throw new Error('missing or invalid field "tierId"');
    return { kind: 'create', assessmentId: b['assessmentId'], traderId: b['traderId'], tierId: b['tierId'] };
  }
  if (b['kind'] === 'command') return { kind: 'command', assessmentId: b['assessmentId'], command: b['command'] };
  throw new Error('field "kind" must be "create" or "command"');
}
