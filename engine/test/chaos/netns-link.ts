/**
 * A Linux network namespace joined to the host by a veth pair, for running a
 * process behind a link the test controls: partitions (nftables DROP on the
 * host end, per port, both directions, so nothing is reset: connections hang
 * as on a real cut) and random packet loss (nftables `numgen random`). Every
 * name carries the creating process id, so a later run removes what a killed
 * run left behind without touching anyone else's. Needs root (CAP_NET_ADMIN),
 * `ip` (iproute2) and `nft` (nftables).
 */
import { execFileSync } from 'node:child_process';

const PREFIX = 'vnf';
const run = (cmd: string, args: string[], input?: string): string =>
  execFileSync(cmd, args, { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], ...(input === undefined ? {} : { input }) });
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Why a namespace could not be made (not root, no netns, no nftables). */
export class NetnsUnavailableError extends Error {
  readonly code = 'NETNS_UNAVAILABLE';
}

/** A namespace, its veth pair and its nftables table; see the module comment. */
export class NetnsLink {
  /** Address of the host end (services are offered here). */
  readonly hostAddr: string;
  /** Address of the namespace end. */
  readonly nsAddr: string;
  readonly ns: string;
  readonly #hostIf: string;
  readonly #table: string;
  #destroyed = false;

  private constructor(tag: string, subnet: number) {
    this.ns = `${PREFIX}-${process.pid}-${tag}`;
    this.#hostIf = `${PREFIX}h${tag}`;
    this.#table = `${PREFIX}_${process.pid}_${tag}`;
    this.hostAddr = `10.213.${subnet}.1`;
    this.nsAddr = `10.213.${subnet}.2`;
  }

  /** Remove namespaces, links and tables left by runs whose process is gone. */
  static sweepStale(): void {
    for (const line of run('ip', ['netns', 'list']).split('\n')) {
      const m = /^(vnf-(\d+)-\w+)/.exec(line);
      if (m !== null && !alive(Number(m[2]))) run('ip', ['netns', 'del', m[1]!]);
    }
    for (const line of run('nft', ['list', 'tables']).split('\n')) {
      const m = /^table inet (vnf_(\d+)_\w+)$/.exec(line.trim());
      if (m !== null && !alive(Number(m[2]))) run('nft', ['delete', 'table', 'inet', m[1]!]);
    }
  }

  /**
   * Create the namespace and link (host end `hostAddr`, namespace end `nsAddr`, a /30).
   * @throws {@link NetnsUnavailableError} when this machine or user cannot
   */
  static create(tag: string): NetnsLink {
    if (!/^[a-z0-9]{1,6}$/.test(tag)) throw new Error('tag: 1 to 6 lowercase letters or digits');
    const link = new NetnsLink(tag, 1 + (parseInt(tag, 36) % 250));
    try {
      NetnsLink.sweepStale();
      const nsIf = `${PREFIX}n${tag}`;
      run('ip', ['netns', 'add', link.ns]);
      run('ip', ['link', 'add', link.#hostIf, 'type', 'veth', 'peer', 'name', nsIf]);
      run('ip', ['link', 'set', nsIf, 'netns', link.ns]);
      run('ip', ['addr', 'add', `${link.hostAddr}/30`, 'dev', link.#hostIf]);
      run('ip', ['link', 'set', link.#hostIf, 'up']);
      const inNs = (...a: string[]) => run('ip', ['netns', 'exec', link.ns, 'ip', ...a]);
      inNs('addr', 'add', `${link.nsAddr}/30`, 'dev', nsIf);
      inNs('link', 'set', nsIf, 'up');
      inNs('link', 'set', 'lo', 'up');
      run(
        'nft',
        ['-f', '-'],
        [
          `table inet ${link.#table} {`,
          '  chain cut { }',
          '  chain loss { }',
          `  chain input { type filter hook input priority -10; policy accept; iifname "${link.#hostIf}" jump loss; iifname "${link.#hostIf}" jump cut; }`,
          `  chain output { type filter hook output priority -10; policy accept; oifname "${link.#hostIf}" jump loss; oifname "${link.#hostIf}" jump cut; }`,
          '}',
        ].join('\n'),
      );
      return link;
    } catch (err) {
      link.destroy();
      const e = err as { stderr?: string; message: string };
      throw new NetnsUnavailableError(`network namespace unavailable: ${(e.stderr ?? e.message).trim()}`);
    }
  }

  /** argv prefix running a command inside the namespace (`ip netns exec` execs in place: same pid). */
  exec(cmd: string, ...args: string[]): [string, string[]] {
    return ['ip', ['netns', 'exec', this.ns, cmd, ...args]];
  }

  /** Drop every packet to and from these host ports on the link (both directions; no reset). */
  cut(...ports: number[]): void {
    for (const p of ports) {
      run('nft', ['add', 'rule', 'inet', this.#table, 'cut', 'tcp', 'dport', String(p), 'drop']);
      run('nft', ['add', 'rule', 'inet', this.#table, 'cut', 'tcp', 'sport', String(p), 'drop']);
    }
  }

  /** Drop this percentage of packets on the link, each direction, at random. */
  loss(percent: number): void {
    run('nft', ['add', 'rule', 'inet', this.#table, 'loss', 'numgen', 'random', 'mod', '100', '<', String(Math.round(percent)), 'drop']);
  }

  /** Lift every cut and every loss rule. */
  heal(): void {
    run('nft', ['flush', 'chain', 'inet', this.#table, 'cut']);
    run('nft', ['flush', 'chain', 'inet', this.#table, 'loss']);
  }

  /** Remove the table, the link and the namespace; safe to call twice and from an exit handler. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    for (const [cmd, args] of [
      ['nft', ['delete', 'table', 'inet', this.#table]],
      ['ip', ['link', 'del', this.#hostIf]],
      ['ip', ['netns', 'del', this.ns]],
    ] as const) {
      try {
        run(cmd, [...args]);
      } catch {
        // already gone
      }
    }
  }
}
