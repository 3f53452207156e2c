/**
 * Who owns what in a local cluster, read from the cluster's tables in
 * Postgres (`cluster_members`, `shard_owners`), and printed for an operator.
 * Read defensively: a database the cluster migration has not reached yet
 * says so instead of failing.
 */
import type postgres from 'postgres';
import { VIRTUAL_SHARDS } from '../index.js';
import type { ClusterProcess } from './cluster-processes.js';

/** A member as the membership table has it. */
export interface MemberRow {
  readonly nodeId: string;
  readonly live: boolean;
  readonly draining: boolean;
}

/** Ownership of the virtual shards now. */
export interface Ownership {
  readonly members: readonly MemberRow[];
  /** Shards held (not released) per owner node. */
  readonly owned: ReadonlyMap<string, number>;
  /** Shards no live member holds. */
  readonly unowned: number;
}

/** The ownership now, or why it cannot be read. */
export async function readOwnership(sql: postgres.Sql): Promise<Ownership | { readonly unknown: string }> {
  try {
    const members = await sql<{ node_id: string; live: boolean; draining: boolean }[]>`
      select node_id, expires_at > clock_timestamp() as live, coalesce(draining, false) as draining from cluster_members order by node_id`;
    const rows = await sql<{ owner_node: string | null; shards: number }[]>`
      select owner_node, count(*)::int as shards from shard_owners
       where group_id ~ '^v[0-9]{4}$' and not coalesce(released, false) group by owner_node order by owner_node`;
    const live = new Set(members.filter((m) => m.live).map((m) => m.node_id));
    const owned = new Map<string, number>();
    let held = 0;
    for (const r of rows) {
      if (r.owner_node === null) continue;
      owned.set(r.owner_node, r.shards);
      if (live.has(r.owner_node)) held += r.shards;
    }
    return {
      members: members.map((m) => ({ nodeId: m.node_id, live: m.live, draining: m.draining })),
      owned,
      unowned: VIRTUAL_SHARDS - held,
    };
  } catch (err) {
    const code = (err as { code?: string }).code;
    // 42P01: no such table; 42703: no such column. The cluster migration is not applied yet.
    if (code === '42P01' || code === '42703')
      return { unknown: 'the cluster tables are not there yet (no engine node has run the cluster migration)' };
    return { unknown: `the database did not answer: ${(err as Error).message}` };
  }
}

/** One line: `n1 341 · n2 341 · n3 342 · unowned 0`. */
export function ownershipLine(o: Ownership | { readonly unknown: string }): string {
  if ('unknown' in o) return `ownership: unknown, ${o.unknown}`;
  const parts = [...o.owned].map(([node, n]) => {
    const m = o.members.find((x) => x.nodeId === node);
    const tag = m === undefined ? ' (not a member)' : !m.live ? ' (lease expired)' : m.draining ? ' (draining)' : '';
    return `${node} ${n}${tag}`;
  });
  return `ownership: ${parts.length === 0 ? 'no shard is owned' : parts.join(' · ')} · unowned ${o.unowned}`;
}

/** The status an operator asked for: processes, members, ownership. */
export function statusText(procs: readonly ClusterProcess[], o: Ownership | { readonly unknown: string }): string {
  const lines = ['processes:'];
  for (const p of procs) {
    const state =
      p.ended === undefined
        ? `running, pid ${p.child?.pid}`
        : p.stopping === 'drain'
          ? `drained (${p.ended.signal ?? `exit ${p.ended.code}`})`
          : p.stopping === 'kill'
            ? 'killed'
            : `exited (${p.ended.signal ?? `code ${p.ended.code}`})`;
    const where =
      p.port === undefined
        ? ''
        : p.role === 'gateway'
          ? `  http://127.0.0.1:${p.port}/  ws://127.0.0.1:${p.port}/v1/ws`
          : `  ops http://127.0.0.1:${p.port}/v1/operator/shards`;
    lines.push(`  ${p.name.padEnd(4)} ${p.role.padEnd(8)} ${state}${where}`);
  }
  if ('unknown' in o) lines.push(`members: unknown`);
  else
    lines.push(
      `members: ${o.members.length === 0 ? 'none' : o.members.map((m) => `${m.nodeId} ${m.live ? 'live' : 'expired'}${m.draining ? ' draining' : ''}`).join(', ')}`,
    );
  lines.push(ownershipLine(o));
  return lines.join('\n');
}
