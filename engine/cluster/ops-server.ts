/**
 * The HTTP door of an engine node that runs without a gateway (the `engine`
 * role): probes, the Prometheus scrape and the operator's ownership map.
 * Read-only; it takes nothing but a path.
 *
 * - `GET /livez`: 200 while the node runs, 503 once it halted.
 * - `GET /readyz`: 200 once it serves the shards targeted to it, 503 before
 *   and while it stops.
 * - `GET /metrics`: the process registry, Prometheus text.
 * - `GET /v1/operator/shards`: members, each shard's owner and epoch, moves,
 *   and the lag of the shards served here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ClusterNode } from './cluster-node.js';
import { shardKey, VIRTUAL_SHARDS } from '../shard.js';
import type { ShardStore } from './cluster-ports.js';

/** Options of {@link OpsServer.start}. */
export interface OpsServerOptions {
  readonly node: ClusterNode;
  readonly registry: Registry;
  /** Where the owner rows are read. */
  readonly store: ShardStore;
  /** The market log's last seq now (for lag). @default lag in market inputs unknown */
  readonly marketTail?: () => Promise<number>;
  /** @default 9464 */
  readonly port?: number;
  /** @default '0.0.0.0' (probes and scrapes come from outside the pod) */
  readonly host?: string;
}

/** Raised when the port is taken. */
export class OpsPortInUseError extends Error {
  readonly code = 'OPS_PORT_IN_USE';
  constructor(port: number, options?: ErrorOptions) {
    super(`ops port ${port} is in use`, options);
    this.name = 'OpsPortInUseError';
  }
}

/** The ownership map as `/v1/operator/shards` shows it. */
export interface OperatorShards {
  readonly node: string;
  readonly members: ReadonlyArray<{
    readonly nodeId: string;
    readonly incarnation: number;
    readonly draining: boolean;
    readonly leaseLeftMs: number;
  }>;
  readonly moves: { readonly acquire: number; readonly release: number; readonly takeover: number };
  readonly marketSeq: number;
  readonly marketTail: number | null;
  readonly served: number;
  readonly shards: ReadonlyArray<{
    readonly shard: number;
    readonly key: string;
    readonly owner: string | null;
    readonly epoch: number | null;
    readonly released: boolean;
    /** Only for shards served here: market inputs behind the log's tail, checkpoint age. */
    readonly lag?: { readonly marketInputs: number | null; readonly checkpointAgeMs: number };
  }>;
}

/** Build the ownership map of `node` (owner rows read now). */
export async function operatorShards(node: ClusterNode, store: ShardStore, marketTail?: () => Promise<number>): Promise<OperatorShards> {
  const [rows, tail] = await Promise.all([store.owners(), marketTail?.().catch(() => null) ?? Promise.resolve(null)]);
  const owners = new Map(rows.map((r) => [r.shard, r]));
  const view = node.clusterView();
  const ages = node.checkpointAges();
  const me = node.nodeId ?? 'solo';
  const shards = Array.from({ length: VIRTUAL_SHARDS }, (_, v) => {
    const row = owners.get(v);
    const age = ages.get(v);
    return {
      shard: v,
      key: shardKey(v),
      owner: row === undefined ? null : (row.ownerNode ?? (age === undefined ? 'solo' : me)),
      epoch: row?.epoch ?? null,
      released: row?.released ?? false,
      ...(age === undefined
        ? {}
        : { lag: { marketInputs: tail === null ? null : Math.max(0, tail - node.lastSeq), checkpointAgeMs: Math.round(age) } }),
    };
  });
  return {
    node: me,
    members: view.members.map((m) => ({
      nodeId: m.nodeId,
      incarnation: m.incarnation,
      draining: m.draining,
      leaseLeftMs: Math.round(m.expiresInMs),
    })),
    moves: view.moves,
    marketSeq: node.lastSeq,
    marketTail: tail,
    served: node.servedShards().size,
    shards,
  };
}

/** The ops HTTP server; see the module comment. */
export class OpsServer {
  readonly #server: Server;
  readonly port: number;

  private constructor(server: Server, port: number) {
    this.#server = server;
    this.port = port;
  }

  static async start(o: OpsServerOptions): Promise<OpsServer> {
    let ready = false;
    void o.node.ready.then(() => (ready = true));
    const send = (res: ServerResponse, status: number, body: unknown, type = 'application/json'): void => {
      const text = typeof body === 'string' ? body : JSON.stringify(body);
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(text);
    };
    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD')
        return send(res, 405, { error: { code: 'METHOD_NOT_ALLOWED', message: 'GET only' } });
      const { node } = o;
      switch (path) {
        case '/livez':
          return node.fault === undefined
            ? send(res, 200, { status: 'live' })
            : send(res, 503, { status: 'halted', reason: node.fault.message });
        case '/readyz':
          return ready && !node.stopping && node.fault === undefined
            ? send(res, 200, { status: 'ready', served: node.servedShards().size })
            : send(res, 503, { status: node.stopping ? 'stopping' : 'starting' });
        case '/metrics':
          return send(res, 200, await o.registry.metrics(), o.registry.contentType);
        case '/v1/operator/shards':
          return send(res, 200, await operatorShards(node, o.store, o.marketTail));
        default:
          return send(res, 404, { error: { code: 'NOT_FOUND', message: `no route ${path}` } });
      }
    };
    const server = createServer((req, res) => {
      handle(req, res).catch((err: unknown) => {
        if (!res.headersSent) send(res, 503, { error: { code: 'UNAVAILABLE', message: err instanceof Error ? err.message : String(err) } });
        else res.destroy();
      });
    });
    server.headersTimeout = 10_000;
    server.requestTimeout = 10_000;
    const port = o.port ?? 9464;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err: NodeJS.ErrnoException) =>
        reject(err.code === 'EADDRINUSE' ? new OpsPortInUseError(port, { cause: err }) : err),
      );
      server.listen(port, o.host ?? '0.0.0.0', () => resolve());
    });
    return new OpsServer(server, (server.address() as AddressInfo).port);
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeAllConnections();
    await closed;
  }
}
