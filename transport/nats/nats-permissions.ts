/**
 * What each NATS user of a deployment may publish and subscribe to: the
 * `authorization.users` of the NATS chart's values (deploy/k8s/nats), derived
 * from the subjects this folder builds, so a subject renamed here cannot
 * drift from the server's permissions, and a deployment under a
 * `NATS_NAMESPACE` gets the same rules under its prefix
 * (`npm run nats-permissions -- --namespace <ns>`).
 *
 * Each role reads replies only on its own inbox prefix (`_INBOX_<user>`, set
 * by {@link natsServer} from the URL's user), so no role can read another's
 * request replies or JetStream deliveries.
 */
import { withNamespace } from './subjects.js';

/** The NATS users the deployment runs as. */
export const NATS_ROLES = ['engine', 'gateway', 'market-data'] as const;
/** A NATS user of the deployment. */
export type NatsRole = (typeof NATS_ROLES)[number];

/** One user's permissions, in the server's configuration form. */
export interface NatsUserPermissions {
  readonly publish: { readonly allow: readonly string[]; readonly deny: readonly string[] };
  readonly subscribe: { readonly allow: readonly string[] };
  /** May answer requests on their reply subjects. */
  readonly allow_responses?: true;
}

/** The inbox prefix of a NATS user: replies and JetStream deliveries to it arrive under `<prefix>.>`. */
export function inboxPrefixOf(user: string): string {
  return `_INBOX_${user.replace(/[^A-Za-z0-9_-]/g, '_')}`;
}

// JetStream's API is not namespaced: a role reaches it to read and write its streams,
// but only an operator may delete or purge one.
const JS_API = ['$JS.API.>'];
const JS_ACK = ['$JS.ACK.>'];
const JS_DENY = ['$JS.API.STREAM.DELETE.>', '$JS.API.STREAM.PURGE.>'];

/** Every role's permissions under `namespace` (see the module comment). */
export function natsPermissions(namespace = ''): Record<NatsRole, NatsUserPermissions> {
  const ns = (subjects: readonly string[]) => subjects.map((s) => withNamespace(s, namespace));
  const shardRequests = ns(['engine.shard.*.intake', 'engine.shard.*.state', 'engine.shard.*.watch', 'engine.leaderboard']);
  return {
    engine: {
      publish: {
        // live frames, owner announcements, the clock beat, domain events; the market log and event stream
        allow: [
          ...ns(['engine.stream.>', 'engine.shard.*.owner', 'clock.beat', 'trading.>', 'assessment.>', 'rules.>', 'report.>']),
          ...JS_API,
          ...JS_ACK,
        ],
        deny: JS_DENY,
      },
      subscribe: { allow: [...shardRequests, `${inboxPrefixOf('engine')}.>`] },
      // answers to the gateways' requests, on their reply subjects only
      allow_responses: true,
    },
    gateway: {
      publish: {
        // requests to shard owners; the domain events a gateway makes
        allow: [...shardRequests, ...ns(['payment.>', 'montecarlo.>', 'report.>']), ...JS_API, ...JS_ACK],
        deny: JS_DENY,
      },
      subscribe: { allow: [...ns(['engine.stream.>', 'engine.shard.*.owner']), `${inboxPrefixOf('gateway')}.>`] },
    },
    'market-data': {
      publish: { allow: [...ns(['ticks.>', 'resolutions.>', 'instruments.>', 'clock.beat']), ...JS_API], deny: JS_DENY },
      subscribe: { allow: [`${inboxPrefixOf('market-data')}.>`] },
    },
  };
}
