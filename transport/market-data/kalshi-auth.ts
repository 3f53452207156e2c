/**
 * Kalshi request signing: `KALSHI-ACCESS-SIGNATURE` is RSA-PSS with SHA-256
 * (MGF1 SHA-256, salt as long as the digest) over `timestamp + method + path`
 * (the path without the query string), base64; `KALSHI-ACCESS-TIMESTAMP` is
 * that timestamp in ms; `KALSHI-ACCESS-KEY` the API key id. The WebSocket
 * handshake is signed as `GET /trade-api/ws/v2`, afresh for every attempt.
 */
import { constants, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** An API key id and its RSA private key. */
export interface KalshiCredentials {
  readonly keyId: string;
  readonly privateKey: KeyObject;
}

/** A signature that does not verify, or headers that are missing or out of date. */
export class KalshiAuthError extends Error {
  readonly code = 'KALSHI_AUTH_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'KalshiAuthError';
  }
}

const PSS = { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST };

/** Credentials from a key id and a PEM private key (PKCS#1 or PKCS#8). */
export function kalshiCredentials(keyId: string, privateKeyPem: string | Buffer): KalshiCredentials {
  if (keyId === '') throw new KalshiAuthError('empty Kalshi API key id');
  return { keyId, privateKey: createPrivateKey(privateKeyPem) };
}

/** The three handshake headers for `method path` at `timestampMs`. */
export function kalshiAuthHeaders(
  credentials: KalshiCredentials,
  method: string,
  path: string,
  timestampMs: number,
): Record<string, string> {
  const ts = String(Math.trunc(timestampMs));
  const signature = sign('sha256', Buffer.from(ts + method.toUpperCase() + path.split('?')[0]!), { key: credentials.privateKey, ...PSS });
  return { 'KALSHI-ACCESS-KEY': credentials.keyId, 'KALSHI-ACCESS-TIMESTAMP': ts, 'KALSHI-ACCESS-SIGNATURE': signature.toString('base64') };
}

/**
 * Checks signed headers as the venue does (the simulator uses it): the key
 * id known, the timestamp within `maxSkewMs` of `now`, the signature valid
 * for `method path`. Throws {@link KalshiAuthError} naming what is wrong.
 */
export function verifyKalshiHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  method: string,
  path: string,
  keys: ReadonlyMap<string, KeyObject | string>,
  now: number,
  maxSkewMs = 5_000,
): string {
  const h = (name: string): string | undefined => {
    const v = headers[name.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  };
  const keyId = h('KALSHI-ACCESS-KEY');
  const ts = h('KALSHI-ACCESS-TIMESTAMP');
  const signature = h('KALSHI-ACCESS-SIGNATURE');
  if (keyId === undefined || ts === undefined || signature === undefined) throw new KalshiAuthError('missing KALSHI-ACCESS-* headers');
  const key = keys.get(keyId);
  if (key === undefined) throw new KalshiAuthError(`unknown key id ${keyId}`);
  if (!/^\d+$/.test(ts) || Math.abs(now - Number(ts)) > maxSkewMs) throw new KalshiAuthError(`timestamp ${ts} out of date`);
  const publicKey = typeof key === 'string' ? createPublicKey(key) : key;
  const ok = verify(
    'sha256',
    Buffer.from(ts + method.toUpperCase() + path.split('?')[0]!),
    { key: publicKey, ...PSS },
    Buffer.from(signature, 'base64'),
  );
  if (!ok) throw new KalshiAuthError('signature does not verify');
  return keyId;
}
