/**
 * Engine nodes as the routing plane's owner side sees them ({@link ShardHost}).
 * A solo node (no NODE_ID) serves every virtual shard at its one claim epoch,
 * and never changes that while it runs: a restarted node claims a new epoch,
 * so the streams it publishes carry a new one.
 */
import type { EngineNode } from '../node/engine-node.js';
import { VIRTUAL_SHARDS } from '../shard.js';
import type { ShardHost } from '../../transport/nats/shard-host.js';

/** An engine node serving every shard; `watch` is its engine's, counted (see `countedWatch`). */
export function soloShardHost(node: EngineNode, nodeId: string, watch: (ids: readonly string[], on: boolean) => void): ShardHost {
  const all = Array.from({ length: VIRTUAL_SHARDS }, (_, v) => [v, node.epoch] as const);
  return {
    nodeId,
    serves: () => node.epoch,
    served: () => all,
    onShardChange: () => () => {},
    offer: (req) => node.offer(req),
    state: (id) => node.state(id),
    watch,
  };
}
