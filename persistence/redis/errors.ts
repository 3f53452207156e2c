/**
 * The one error the shared-state layer throws when Redis cannot be used, so a
 * gateway can tell "Redis is down" from a bug without parsing messages.
 */
import { Redis, type RedisOptions } from 'ioredis';

/** Redis could not be reached, or dropped, or refused a command for a connection reason. */
export class SharedStateUnavailableError extends Error {
  override readonly name = 'SharedStateUnavailableError';
  /** Stable code to branch on. */
  readonly code = 'SHARED_STATE_UNAVAILABLE' as const;

  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** Options for {@link connectRedis}. */
export interface ConnectRedisOptions {
  /**
   * How long the first connection may take before giving up.
   * @default 2000
   */
  connectTimeoutMs?: number;
}

/** Hide credentials in a URL before putting it in an error message. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparsable redis url>';
  }
}

/**
 * Open a Redis client that fails fast instead of queueing or hanging:
 * the first connection is tried once (no retries) and rejects with
 * {@link SharedStateUnavailableError}; once connected, a dropped connection is
 * re-established with backoff, and commands issued while it is down reject at
 * once (no offline queue) rather than waiting.
 */
export async function connectRedis(url: string, options: ConnectRedisOptions = {}): Promise<Redis> {
  let everReady = false;
  const redisOptions: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    // No retries before the first success; capped backoff after.
    retryStrategy: (times) => (everReady ? Math.min(times * 100, 2_000) : null),
  };
  const redis = new Redis(url, redisOptions);
  // Without a listener ioredis prints "Unhandled error event"; later failures surface through commands.
  let socketError: Error | undefined;
  redis.on('error', (err: Error) => {
    if (!everReady) socketError = err;
  });
  try {
    await redis.connect();
    everReady = true;
    return redis;
  } catch (err) {
    redis.disconnect();
    // connect() rejects with "Connection is closed."; the socket's own error (ECONNREFUSED, ...) says why.
    const cause = socketError ?? (err as Error);
    const code = (cause as NodeJS.ErrnoException).code;
    throw new SharedStateUnavailableError(`Redis is unreachable at ${redact(url)}${code ? ` (${code})` : ''}: ${cause.message}`, { cause });
  }
}

/**
 * Run a Redis command, turning connection failures into
 * {@link SharedStateUnavailableError}. A Redis reply error (a bug: bad script,
 * wrong type) passes through unchanged.
 */
export async function redisCall<T>(what: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof Error && err.name === 'ReplyError') throw err;
    throw new SharedStateUnavailableError(`Redis ${what} failed: ${(err as Error).message}`, { cause: err });
  }
}
