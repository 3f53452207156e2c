/**
 * Verifies the gateway's bearer tokens (JWT, jose): pinned algorithms,
 * issuer, audience, expiry with a small clock tolerance; keys from config
 * (an HMAC secret or a public key in PEM) or a JWKS URL. A token names its
 * trader in `sub` and its roles in `roles`.
 */
import type { webcrypto } from 'node:crypto';
import { createRemoteJWKSet, errors, importSPKI, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { TOKEN_FAILURE_CODES, TokenRejectedError } from './errors.js';

type CryptoKey = webcrypto.CryptoKey;

/** A verified caller. */
export interface Principal {
  readonly traderId: string;
  readonly roles: ReadonlySet<Role>;
  /** When the token expires (its `exp`), epoch ms. */
  readonly expiresAt: number;
}

export type Role = 'trader' | 'operator';

/** The token rules openapi.json's `x-jwt` states: the algorithms one may pin, the defaults, the claims every token carries, the roles known, its longest length and the refusal codes. */
export const TOKEN_RULES = {
  algorithms: ['HS256', 'RS256', 'ES256'],
  issuer: 'vatic',
  audience: 'vatic-gateway',
  clockToleranceSec: 5,
  maxTokenAge: '24h',
  requiredClaims: ['sub', 'exp', 'iat'],
  roles: ['trader', 'operator'],
  maxTokenLength: 8_192,
  failureCodes: TOKEN_FAILURE_CODES,
} as const;

/** Options of {@link TokenVerifier.create}. Exactly one key source. */
export interface TokenVerifierOptions {
  /** HMAC secret (HS256). */
  readonly secret?: string;
  /** Public key, SPKI PEM (with `algorithm` RS256 or ES256). */
  readonly publicKeyPem?: string;
  /** JWKS URL; keys are fetched and cached by jose. */
  readonly jwksUrl?: string;
  /** The one algorithm accepted. @default 'HS256' with a secret, 'RS256' otherwise */
  readonly algorithm?: (typeof TOKEN_RULES.algorithms)[number];
  /** @default 'vatic' */
  readonly issuer?: string;
  /** @default 'vatic-gateway' */
  readonly audience?: string;
  /** Clock skew tolerated on exp/nbf, seconds. @default 5 */
  readonly clockToleranceSec?: number;
  /** Longest token life accepted (iat to now). @default '24h' */
  readonly maxTokenAge?: string;
}

const ROLES = new Set<Role>(TOKEN_RULES.roles);

interface Resolved {
  readonly algorithm: string;
  readonly issuer: string;
  readonly audience: string;
  readonly clockToleranceSec: number;
  readonly maxTokenAge: string;
}

/** Verifies tokens against one configured key source. */
export class TokenVerifier {
  readonly #key: Uint8Array | CryptoKey | JWTVerifyGetKey;
  readonly #o: Resolved;
  /**
   * One set per distinct roles list (in the token's order, which `ready` and
   * `reauthenticated` repeat): a set of its own was ~170 B of every session.
   */
  readonly #roleSets = new Map<string, ReadonlySet<Role>>();

  private constructor(key: Uint8Array | CryptoKey | JWTVerifyGetKey, o: Resolved) {
    this.#key = key;
    this.#o = o;
  }

  static async create(options: TokenVerifierOptions): Promise<TokenVerifier> {
    const sources = [options.secret, options.publicKeyPem, options.jwksUrl].filter((s) => s !== undefined && s !== '');
    if (sources.length !== 1) throw new Error('TokenVerifier needs exactly one of secret, publicKeyPem, jwksUrl');
    const algorithm = options.algorithm ?? (options.secret ? 'HS256' : 'RS256');
    if (options.secret && algorithm !== 'HS256') throw new Error(`a secret signs HS256, not ${algorithm}`);
    if (options.secret && options.secret.length < 32) throw new Error('the HMAC secret must be at least 32 characters');
    const key = options.secret
      ? new TextEncoder().encode(options.secret)
      : options.publicKeyPem
        ? await importSPKI(options.publicKeyPem, algorithm)
        : createRemoteJWKSet(new URL(options.jwksUrl!), { timeoutDuration: 3_000, cooldownDuration: 30_000 });
    return new TokenVerifier(key, {
      algorithm,
      issuer: options.issuer ?? TOKEN_RULES.issuer,
      audience: options.audience ?? TOKEN_RULES.audience,
      clockToleranceSec: options.clockToleranceSec ?? TOKEN_RULES.clockToleranceSec,
      maxTokenAge: options.maxTokenAge ?? TOKEN_RULES.maxTokenAge,
    });
  }

  /** The token's principal, or a {@link TokenRejectedError} saying why not. */
  async verify(token: unknown): Promise<Principal> {
    if (typeof token !== 'string' || token.length === 0 || token.length > TOKEN_RULES.maxTokenLength)
      throw new TokenRejectedError('TOKEN_INVALID', 'token must be a compact JWT string of at most 8192 characters');
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.#key as Uint8Array, {
        algorithms: [this.#o.algorithm],
        issuer: this.#o.issuer,
        audience: this.#o.audience,
        clockTolerance: this.#o.clockToleranceSec,
        maxTokenAge: this.#o.maxTokenAge,
        requiredClaims: [...TOKEN_RULES.requiredClaims],
      }));
    } catch (err) {
      if (err instanceof errors.JWTExpired) throw new TokenRejectedError('TOKEN_EXPIRED', 'token expired');
      if (err instanceof errors.JWTClaimValidationFailed)
        throw new TokenRejectedError('TOKEN_CLAIMS', `token claim "${err.claim}" is not valid: ${err.reason}`);
      if (err instanceof errors.JOSEAlgNotAllowed)
        throw new TokenRejectedError('TOKEN_INVALID', `token algorithm is not accepted (only ${this.#o.algorithm})`);
      throw new TokenRejectedError('TOKEN_INVALID', `token is not valid: ${err instanceof Error ? err.message : String(err)}`);
    }
    const sub = payload.sub;
    if (typeof sub !== 'string' || sub === '' || sub.length > 128)
      throw new TokenRejectedError('TOKEN_CLAIMS', 'token "sub" must name the trader');
    const raw = (payload as { roles?: unknown }).roles;
    const fresh = new Set<Role>(Array.isArray(raw) ? raw.filter((r): r is Role => ROLES.has(r as Role)) : ['trader']);
    if (fresh.size === 0) throw new TokenRejectedError('TOKEN_CLAIMS', 'token "roles" holds no known role (trader, operator)');
    const key = [...fresh].join(',');
    let roles = this.#roleSets.get(key);
    if (roles === undefined) this.#roleSets.set(key, (roles = fresh)); // at most a handful: the roles known, in either order
    return { traderId: sub, roles, expiresAt: (payload.exp as number) * 1000 };
  }
}
