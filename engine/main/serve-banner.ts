/**
 * The few human lines `npm run serve` prints on stderr once it is up: where
 * it listens, and the commands that feed it ticks, give a trader an
 * assessment and connect a client. The logs stay JSON lines on stdout (what
 * production collects); the banner says how to read them prettily.
 */
import type { ServeEnvironment } from './serve-env.js';

/** What the banner reports. */
export interface BannerFacts {
  readonly env: ServeEnvironment;
  /** The gateway's port when one runs. */
  readonly gatewayPort?: number | undefined;
  /** The ops port of an engine-only node. */
  readonly opsPort?: number | undefined;
  /** A development token for trader-000001, when no GATEWAY_JWT_* key is set. */
  readonly devToken?: string | undefined;
  readonly shards: number;
}

/** Whether to print it: `SERVE_BANNER=on`, or `auto` on a terminal. */
export function bannerWanted(env: ServeEnvironment, stderrIsTty: boolean): boolean {
  return env.SERVE_BANNER === 'on' || (env.SERVE_BANNER === 'auto' && stderrIsTty);
}

/** The banner's lines. */
export function bannerLines(f: BannerFacts): string[] {
  const { env } = f;
  const host = env.GATEWAY_HOST === '0.0.0.0' || env.GATEWAY_HOST === '::' ? '127.0.0.1' : env.GATEWAY_HOST;
  const scope = [
    env.NATS_NAMESPACE === '' ? '' : `NATS_NAMESPACE=${env.NATS_NAMESPACE}`,
    env.MARKET_STREAM === 'MARKET' ? '' : `MARKET_STREAM=${env.MARKET_STREAM}`,
  ]
    .filter((x) => x !== '')
    .join(' ');
  const lines = [
    `vatic: engine node up (role ${env.ENGINE_ROLE}, ${env.NODE_ID === undefined ? 'solo' : `node ${env.NODE_ID}`}, ${f.shards} shards)`,
  ];
  if (f.gatewayPort !== undefined) {
    const base = `http://${host}:${f.gatewayPort}`;
    lines.push(`  gateway   ${base}/  (browser console), ws://${host}:${f.gatewayPort}/v1/ws, HTTP API ${base}/v1/tiers …`);
    if (f.devToken !== undefined) lines.push(`  console   ${base}/#token=${f.devToken}  (trader-000001, development secret)`);
  }
  if (f.opsPort !== undefined) lines.push(`  ops       http://127.0.0.1:${f.opsPort}/readyz, /metrics, /v1/operator/shards`);
  if (env.NATS_URL) {
    lines.push(
      `  ticks     ${scope === '' ? '' : `${scope} `}npm run market-data -- --source tape --tape tapes/prediction-settlement.jsonl   (or --source synthetic, coinbase, …)`,
    );
    if (env.NODE_ID === undefined)
      lines.push(`  account   ${scope === '' ? '' : `${scope} `}npm run assessment -- create --trader trader-000001 --tier two-step-100k`);
  } else {
    lines.push('  ticks     no NATS_URL: the market log is in this process only; set NATS_URL to feed it with npm run market-data');
  }
  lines.push('  logs      JSON lines on stdout; to read them:  npm run serve | npx pino-pretty   (SERVE_BANNER=off hides this)');
  return lines;
}
