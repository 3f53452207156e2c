/**
 * A session's streams: `sub` (a snapshot, or a resume's replay from the
 * hub's ring), `unsub`, and the `resync` notices owed once a slow socket
 * drains. Bounded per connection and per trader.
 */
import type { AssessmentState } from '../../actors/index.js';
import type { ClientFrame } from '../protocol/index.js';
import type { AssessmentAccess } from './assessment-access.js';
import type { GatewayContext } from './gateway-context.js';
import { GATEWAY_DEFAULTS, type StreamSnapshot } from './gateway-options.js';
import type { Session } from './session.js';

/** Subscribes the gateway's sessions to the hub's streams. */
export class StreamSubscriptions {
  readonly #ctx: GatewayContext;
  readonly #access: AssessmentAccess;

  constructor(ctx: GatewayContext, access: AssessmentAccess) {
    this.#ctx = ctx;
    this.#access = access;
  }

  /** The state and the stream position it stands at: the engine's own and the hub's, or from where the streams are numbered. */
  async #snapshot(assessmentId: string): Promise<StreamSnapshot> {
    const o = this.#ctx.o;
    if (o.snapshots !== undefined) return o.snapshots(assessmentId);
    const state = await o.engine.state(assessmentId);
    return { state, epoch: o.hub.epochOf(assessmentId), seq: o.hub.seqOf(assessmentId) };
  }

  /** `unsub`: leave the stream, or NOT_SUBSCRIBED. */
  unsubscribe(s: Session, f: Extract<ClientFrame, { t: 'unsub' }>): void {
    const { o, traders, writer } = this.#ctx;
    if (s.subs?.delete(f.assessmentId) !== true)
      return writer.refuse(s, 'NOT_SUBSCRIBED', `not subscribed to '${f.assessmentId}'`, { id: f.id });
    o.hub.unsubscribe(f.assessmentId, s);
    traders.of(s.principal!.traderId)!.subscriptions--;
    writer.send(s, { t: 'unsubscribed', id: f.id, assessmentId: f.assessmentId });
  }

  /** The socket drained: tell it which streams skipped deltas, so it resumes them. */
  drained(s: Session): void {
    const lagging = s.lagging;
    if (lagging === undefined || s.buffered() > GATEWAY_DEFAULTS.resyncBelowBytes) return;
    s.lagging = undefined;
    s.ws?.cork(() => {
      for (const id of lagging)
        this.#ctx.writer.send(s, {
          t: 'resync',
          assessmentId: id,
          reason: 'deltas were skipped while this connection was slow; resume from your last seq',
        });
    });
  }

  /** `sub`: a snapshot and the live stream after it, or with `resume`, the frames missed since. */
  async subscribe(s: Session, f: Extract<ClientFrame, { t: 'sub' }>): Promise<void> {
    const { o, limits, traders, writer } = this.#ctx;
    const already = s.subscribed(f.assessmentId);
    // A repeated sub is cheap: no state read, no snapshot (resume to catch up, or unsub then sub for a fresh snapshot).
    if ((already && f.resume === undefined) || s.subscribing?.has(f.assessmentId) === true) {
      return writer.refuse(
        s,
        'ALREADY_SUBSCRIBED',
        `already subscribed to '${f.assessmentId}': sub with resume to catch up, or unsub first for a new snapshot`,
        { id: f.id },
      );
    }
    if (!already) {
      if ((s.subs?.size ?? 0) + (s.subscribing?.size ?? 0) >= limits.maxSubscriptions) {
        return writer.refuse(s, 'TOO_MANY_SUBSCRIPTIONS', `at most ${limits.maxSubscriptions} subscriptions per connection`, {
          id: f.id,
        });
      }
      const maxTrader = traders.maxTraderSubscriptions;
      if (traders.of(s.principal!.traderId)!.subscriptions >= maxTrader) {
        return writer.refuse(s, 'TOO_MANY_SUBSCRIPTIONS', `at most ${maxTrader} subscriptions per trader over all its connections`, {
          id: f.id,
        });
      }
    }
    if (writer.overHardLimit(s)) return;
    (s.subscribing ??= new Set()).add(f.assessmentId);
    if (!already) traders.of(s.principal!.traderId)!.subscriptions++; // held while the state is read, so concurrent subs count
    let snap: StreamSnapshot | undefined;
    let state: AssessmentState | undefined;
    let unavailable: string | undefined;
    try {
      snap = await this.#snapshot(f.assessmentId);
      state = this.#access.allowed(s, f.assessmentId, snap.state);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'UNAVAILABLE') throw err;
      unavailable = (err as Error).message;
    } finally {
      s.subscribing.delete(f.assessmentId);
      if (!already && (s.closed || state === undefined) && s.principal !== undefined) {
        const t = traders.of(s.principal.traderId); // gone when the trader's last connection closed meanwhile
        if (t !== undefined) t.subscriptions = Math.max(0, t.subscriptions - 1);
      }
    }
    if (s.closed) return;
    if (unavailable !== undefined) return writer.refuse(s, 'UNAVAILABLE', unavailable, { id: f.id });
    if (state === undefined || snap === undefined)
      return writer.refuse(s, 'FORBIDDEN_ASSESSMENT', `assessment '${f.assessmentId}' does not exist or is not yours`, { id: f.id });
    // A snapshot or a replay is a frame like any other: a connection that does not read is closed, not fed.
    if (writer.overHardLimit(s)) return;
    const hub = o.hub;
    // Synchronous from here: no frame can slip between the seq read and the subscription.
    s.lagging?.delete(f.assessmentId);
    if (f.resume !== undefined) {
      const missed = hub.missed(f.assessmentId, f.resume.epoch, f.resume.seq, s.protocol);
      if (missed !== undefined) {
        hub.subscribe(f.assessmentId, s);
        (s.subs ??= new Set()).add(f.assessmentId);
        const resume = f.resume;
        // Corked: the replay and its answer leave in as few writes as fit.
        s.ws?.cork(() => {
          for (const m of missed) s.send(m);
          writer.send(s, {
            t: 'resumed',
            id: f.id,
            assessmentId: f.assessmentId,
            epoch: hub.epochOf(f.assessmentId),
            from: resume.seq + 1,
            to: hub.seqOf(f.assessmentId),
          });
        });
        o.metrics.resumes.inc({ outcome: 'replayed' });
        return;
      }
      o.metrics.resumes.inc({ outcome: 'snapshot' });
    }
    hub.subscribe(f.assessmentId, s);
    (s.subs ??= new Set()).add(f.assessmentId);
    // Frames the hub took while the state was read (streams numbered elsewhere) follow the snapshot.
    const after = hub.missed(f.assessmentId, snap.epoch, snap.seq, s.protocol);
    const snapshot = { t: 'snapshot', id: f.id, assessmentId: f.assessmentId, epoch: snap.epoch, seq: snap.seq, state } as const;
    if (after !== undefined && after.length === 0) return writer.send(s, snapshot);
    s.ws?.cork(() => {
      writer.send(s, snapshot);
      if (after === undefined)
        writer.send(s, {
          t: 'resync',
          assessmentId: f.assessmentId,
          reason: 'the stream moved while the snapshot was taken; resume from the snapshot',
        });
      else for (const m of after) s.send(m);
    });
  }
}
