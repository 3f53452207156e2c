/**
 * A cluster node as the routing plane's owner side sees it ({@link ShardHost}):
 * the shards it serves now at their owner epochs, and news of each one it
 * starts or stops serving. A solo node (no NODE_ID) claims every shard at
 * start and serves each once it is recovered; a member serves its share.
 */
import type { ClusterNode } from '../index.js';
import type { ShardHost } from '../../transport/nats/index.js';

/** `node` as a shard host; `watch` is its engine's, counted (see `countedWatch`). */
export function clusterShardHost(node: ClusterNode, nodeId: string, watch: (ids: readonly string[], on: boolean) => void): ShardHost {
  return {
    nodeId,
    serves: (v) => node.epochOf(v),
    served: () =>
      [...node.servedShards()].flatMap((v) => {
        const epoch = node.epochOf(v);
        return epoch === undefined ? [] : [[v, epoch] as const];
      }),
    onShardChange: (listener) => node.onShardChange(listener),
    offer: (req) => node.offer(req),
    state: (id) => node.state(id),
    watch,
  };
}
