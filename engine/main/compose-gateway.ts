/**
 * Puts the traders' gateway in front of a composed engine node: the stream
 * hub on the node's output, the trader index, token verification from
 * configuration (or a development secret), purchases when Stripe is
 * configured, and the HTTP API on the same uWS app (started by
 * start-gateway.ts; configuration in gateway-config.ts).
 */
import type { Logger } from 'pino';
import { Gauge } from 'prom-client';
import { StreamHub, TraderIndex } from '../../transport/server/index.js';
import { operatorShards, type EngineOutput } from '../index.js';
import type { ComposedNode } from './compose-node.js';
import { countedWatch } from '../../transport/nats/index.js';
import type { ComposedGateway, GatewayConfig } from './gateway-config.js';
import type { LateOutput } from './late-output.js';
import { startGateway } from './start-gateway.js';

export { gatewayLimitsFromEnv } from './gateway-config.js';
export type { ComposedGateway, GatewayBackend, GatewayConfig, GatewayLimits, SimulationConfig } from './gateway-config.js';
export { LateOutput } from './late-output.js';
export { startGateway } from './start-gateway.js';

/**
 * A gateway in front of an engine node in this process. `watch` is the
 * engine's, when other watchers share it (the stream publisher of
 * compose-owner.ts): counted, see `countedWatch`.
 */
export async function composeGateway(
  composed: ComposedNode,
  late: LateOutput,
  config: GatewayConfig,
  log: Logger,
  watch?: (ids: readonly string[], on: boolean) => void,
): Promise<ComposedGateway> {
  const node = composed.node;
  watch ??= countedWatch((ids, on) => node.engine.watch(ids, on));
  const hub = new StreamHub({ epoch: node.epoch, watch });
  const owners = new TraderIndex();
  for (const a of (await node.inspect()).snapshot.kernel.actors) owners.add(a.state.traderId, a.state.id);
  const ownersOutput: EngineOutput = { onEvents: (e) => owners.onEvents(e) };
  late.targets.push(hub, ownersOutput);

  new Gauge({
    name: 'engine_shard_actors',
    help: 'Actors per shard worker.',
    labelNames: ['shard'],
    registers: [composed.registry],
    collect() {
      for (const s of node.engine.shards()) this.set({ shard: String(s.shard) }, s.stats?.actors ?? 0);
    },
  });
  new Gauge({
    name: 'engine_shard_pending_inputs',
    help: 'Inputs sent to a shard worker and not yet applied.',
    labelNames: ['shard'],
    registers: [composed.registry],
    collect() {
      for (const s of node.engine.shards()) this.set({ shard: String(s.shard) }, s.pendingInputs);
    },
  });
  try {
    return await startGateway(
      {
        engine: node,
        hub,
        owners,
        registry: composed.registry,
        shared: composed.shared,
        leaderboard: composed.shared.leaderboard,
        sql: composed.sql,
        publish: (subject, payload) => composed.publish(subject, payload),
        shards: () => node.engine.shards(),
        history: composed.history,
        ownership: () => operatorShards(node, composed.store, composed.marketTail),
      },
      config,
      log,
    );
  } catch (err) {
    // Nothing of this gateway outlives the failure: the caller may go on without one, or exit.
    late.targets = late.targets.filter((t) => t !== hub && t !== ownersOutput);
    throw err;
  }
}
