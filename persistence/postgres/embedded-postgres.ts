/**
 * Embedded Postgres, the default when no DATABASE_URL is set: PGlite
 * (Postgres 18 compiled to WASM, in this process) served on 127.0.0.1 by
 * `@electric-sql/pglite-socket`, so the porsager/postgres code of this package
 * (migrator, snapshot store, journal) runs against it unchanged.
 *
 * Limits, measured with pglite 0.5.14 and pglite-socket 0.2.17:
 *  - One backend, one session: serve ONE client connection. pglite-socket's
 *    multi-connection mode interleaves extended-protocol messages of different
 *    connections (`portal "" does not exist`, wrong rows: electric-sql/pglite
 *    #1046), and its single-connection mode makes further connections hang. So a
 *    front door admits one connection at a time and refuses the others with
 *    `53300 too_many_connections`. Connect with {@link recommendedClientOptions}
 *    (`max: 1`); there is no parallelism to lose, the backend is single-threaded.
 *  - `COPY ... FROM STDIN` kills the backend: it reads EOF instead of CopyData,
 *    raises FATAL 08P01 and the WASM program exits. The instance then closes its
 *    port ({@link EmbeddedPostgres.failure}) and must be restarted; committed data
 *    is kept. On a `sql.reserve()`d connection (copy-snapshots.ts, the checkpoint
 *    store) the rollback that follows crashes the process with an uncaught
 *    TypeError (porsager/postgres #1208). So never COPY here: give
 *    {@link PgSnapshotStore} {@link recommendedSnapshotStoreOptions} and the
 *    checkpoint store `{ copy: false }`.
 *  - Session state outlives a connection: what one client `SET`s the next sees.
 *
 * Transactions, `pg_advisory_xact_lock`, `bigserial`, jsonb and `unnest` of array
 * parameters work. Commits are on disk when they return (they survive SIGKILL).
 *
 * Memory: the backend runs with {@link EMBEDDED_POSTGRES_SETTINGS} (16 MB of
 * shared buffers instead of initdb's 128 MB). Postgres touches its whole buffer
 * pool when it starts, and WebAssembly memory never shrinks, so the pool's size
 * is resident for the life of the process.
 */
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { join, resolve } from 'node:path';
import type { PgSnapshotStore, PgSnapshotStoreOptions } from './pg-snapshot-store.js';

const HOST = '127.0.0.1';
const LOCK_FILE = 'embedded-postgres.lock';

/** Options of {@link EmbeddedPostgres.start}. */
export interface EmbeddedPostgresOptions {
  /**
   * Directory for the database files; created and initialised (a few seconds)
   * when missing. Holds a lock file while an instance runs on it.
   * @default './data/pg'
   */
  readonly dataDir?: string;
  /**
   * TCP port on 127.0.0.1; 0 picks a free one.
   * @default 0
   */
  readonly port?: number;
}

/**
 * Server settings (`-c name=value`) the embedded backend starts with, on top of
 * PGlite's own. `shared_buffers=16MB`: with initdb's 128 MB the process was
 * ~125 MiB larger from the first second; the embedded database holds one
 * node's journal and checkpoints, which a 16 MB pool caches well enough
 * (`wal_buffers` follows it: 1/32, 512 kB).
 */
export const EMBEDDED_POSTGRES_SETTINGS: readonly string[] = Object.freeze(['shared_buffers=16MB']);

/** porsager/postgres options to use with {@link EmbeddedPostgres.url}: one connection (see the module notes). */
export const recommendedClientOptions = Object.freeze({ max: 1 } as const);

/** {@link PgSnapshotStore} options for the embedded database: never COPY (it kills PGlite). */
export const recommendedSnapshotStoreOptions: Readonly<PgSnapshotStoreOptions> = Object.freeze({ copyThreshold: Infinity });

/** The embedded database could not start, or its backend died (`cause` holds the underlying error). */
export class EmbeddedPostgresError extends Error {
  readonly code = 'EMBEDDED_PG_FAILED';
  constructor(message: string, options?: ErrorOptions) {
    super(`embedded postgres: ${message}`, options);
    this.name = 'EmbeddedPostgresError';
  }
}

/** Another live instance (this process or another) runs on the data directory. */
export class DataDirInUseError extends Error {
  readonly code = 'EMBEDDED_PG_DIR_IN_USE';
  readonly dataDir: string;
  readonly pid: number;
  constructor(dataDir: string, pid: number, lockPath: string) {
    super(
      `embedded postgres: data directory ${dataDir} is in use by process ${pid}; stop that instance, or delete ${lockPath} if none is running`,
    );
    this.name = 'DataDirInUseError';
    this.dataDir = dataDir;
    this.pid = pid;
  }
}

/** A FATAL ErrorResponse: what Postgres sends to a connection it will not serve. */
function fatal(code: string, message: string): Buffer {
  const body = Buffer.from(`SFATAL\0VFATAL\0C${code}\0M${message}\0\0`);
  const head = Buffer.alloc(5);
  head.write('E', 0);
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}

/** SSLRequest: 8 bytes, length then 80877103. */
const isSslRequest = (b: Buffer): boolean => b.length === 8 && b.readInt32BE(0) === 8 && b.readInt32BE(4) === 80877103;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/** Run initdb on an empty data directory in a child node process, then let it exit. */
async function createDataDir(dataDir: string): Promise<void> {
  const pglite = import.meta.resolve('@electric-sql/pglite');
  const script = `const { PGlite } = await import(${JSON.stringify(pglite)}); await (await PGlite.create({ dataDir: ${JSON.stringify(dataDir)} })).close();`;
  await new Promise<void>((res, rej) =>
    execFile(process.execPath, ['--input-type=module', '-e', script], { timeout: 120_000 }, (err, _out, stderr) =>
      err ? rej(new EmbeddedPostgresError(`cannot create the database in ${dataDir}: ${stderr || err.message}`, { cause: err })) : res(),
    ),
  );
}

/** Take `<dataDir>/embedded-postgres.lock`, replacing a lock whose process is gone. PGlite itself does not lock. */
async function lock(dataDir: string): Promise<string> {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const file = await open(path, 'wx');
      await file.writeFile(`${process.pid}\n`);
      await file.close();
      return path;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST')
        throw new EmbeddedPostgresError(`cannot create ${path}: ${(err as Error).message}`, { cause: err });
    }
    const pid = Number.parseInt(await readFile(path, 'utf8').catch(() => ''), 10);
    if (Number.isSafeInteger(pid) && pid > 0 && alive(pid)) throw new DataDirInUseError(dataDir, pid, path);
    await rm(path, { force: true }); // stale: its process died without stopping
  }
  throw new EmbeddedPostgresError(`cannot take ${path}: another process keeps replacing it`);
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(port, HOST, () => {
      server.off('error', fail);
      done((server.address() as AddressInfo).port);
    });
  });
}

/**
 * A running embedded Postgres. Start with {@link EmbeddedPostgres.start}, connect
 * with `postgres(pg.url, recommendedClientOptions)`, end the clients, then
 * {@link EmbeddedPostgres.stop}.
 */
export class EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres`; serves one connection at a time. */
  readonly url: string;
  readonly port: number;
  /** Absolute path of the data directory. */
  readonly dataDir: string;
  readonly #db: PGlite;
  readonly #inner: PGLiteSocketServer;
  readonly #front: Server;
  readonly #lockPath: string;
  readonly #sockets = new Set<Socket>();
  #active: Socket | undefined;
  #failure: EmbeddedPostgresError | undefined;
  #stopping: Promise<void> | undefined;

  private constructor(db: PGlite, inner: PGLiteSocketServer, front: Server, port: number, dataDir: string, lockPath: string) {
    this.#db = db;
    this.#inner = inner;
    this.#front = front;
    this.port = port;
    this.dataDir = dataDir;
    this.#lockPath = lockPath;
    this.url = `postgres://postgres@${HOST}:${port}/postgres`;
  }

  /**
   * Open (or create) the database in `dataDir` and listen on 127.0.0.1.
   * @throws DataDirInUseError when a live instance runs on `dataDir`
   * @throws EmbeddedPostgresError when the database cannot start or the port is taken
   */
  static async start(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
    const dataDir = resolve(options.dataDir ?? './data/pg');
    const port = options.port ?? 0;
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError(`port must be an integer in 0..65535, got ${port}`);
    try {
      await mkdir(dataDir, { recursive: true });
    } catch (err) {
      throw new EmbeddedPostgresError(`cannot create data directory ${dataDir}: ${(err as Error).message}`, { cause: err });
    }
    const lockPath = await lock(dataDir);
    let db: PGlite | undefined;
    let inner: PGLiteSocketServer | undefined;
    const front = createServer();
    try {
      // Creating the database (initdb, in the WASM program) grows its memory by ~430 MiB, and WASM
      // memory never shrinks: create it in a child process, whose memory goes back when it exits.
      if (!existsSync(join(dataDir, 'PG_VERSION'))) await createDataDir(dataDir);
      db = await PGlite.create({
        dataDir,
        startParams: [...PGlite.defaultStartParams, ...EMBEDDED_POSTGRES_SETTINGS.flatMap((setting) => ['-c', setting])],
      });
      // The front door admits one client; the spare slots only cover a closing connection's handler still detaching.
      inner = new PGLiteSocketServer({ db, host: HOST, port: 0, maxConnections: 4 });
      await inner.start();
      const innerPort = Number(inner.getServerConn().split(':').pop());
      const bound = await listen(front, port).catch((err: Error) => {
        throw new EmbeddedPostgresError(`cannot listen on ${HOST}:${port}: ${err.message}`, { cause: err });
      });
      const pg = new EmbeddedPostgres(db, inner, front, bound, dataDir, lockPath);
      front.on('connection', (socket) => pg.#admit(socket, innerPort));
      pg.#watch(db);
      return pg;
    } catch (err) {
      front.close();
      await inner?.stop().catch(() => undefined);
      await db?.close().catch(() => undefined);
      await rm(lockPath, { force: true });
      if (err instanceof EmbeddedPostgresError) throw err;
      throw new EmbeddedPostgresError(`cannot open the database in ${dataDir}: ${(err as Error).message ?? String(err)}`, { cause: err });
    }
  }

  /** Set when the backend died: the port is then closed until the instance is stopped and started again. */
  get failure(): EmbeddedPostgresError | undefined {
    return this.#failure;
  }

  /** Stop listening, drop open connections, close the database (a checkpoint) and release the data directory. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      const closed = new Promise<void>((done) => this.#front.close(() => done()));
      for (const s of this.#sockets) s.destroy();
      await closed;
      await this.#inner.stop();
      try {
        await this.#db.close();
      } catch (err) {
        if (this.#failure === undefined)
          throw new EmbeddedPostgresError(`closing the database failed: ${(err as Error).message}`, { cause: err });
      } finally {
        await rm(this.#lockPath, { force: true });
      }
    })();
    return this.#stopping;
  }

  /** One client at a time is piped to pglite-socket; others get a FATAL 53300 reply to their startup packet. */
  #admit(client: Socket, innerPort: number): void {
    this.#track(client);
    client.setNoDelay(true);
    if (this.#failure !== undefined) return void client.destroy(); // accepted as the port closed
    if (this.#active !== undefined) {
      const reply = fatal(
        '53300',
        'embedded postgres (PGlite) serves one connection at a time: connect with max: 1 (recommendedClientOptions)',
      );
      const onData = (chunk: Buffer): void => {
        if (isSslRequest(chunk))
          client.write('N'); // no TLS; the client then sends its startup packet
        else {
          client.off('data', onData);
          client.end(reply);
        }
      };
      client.on('data', onData);
      return;
    }
    this.#active = client;
    const backend = this.#track(connect(innerPort, HOST));
    backend.setNoDelay(true);
    client.pipe(backend).pipe(client);
    const close = (): void => {
      client.destroy();
      backend.destroy();
      if (this.#active === client) this.#active = undefined;
    };
    client.on('close', close);
    backend.on('close', close);
  }

  #track(socket: Socket): Socket {
    this.#sockets.add(socket);
    socket.on('error', () => undefined); // a reset peer only ends its connection
    socket.on('close', () => this.#sockets.delete(socket));
    return socket;
  }

  /**
   * pglite-socket's query queue stalls for good after any throw from the
   * backend (e.g. the WASM exit on COPY FROM STDIN), leaving clients hanging;
   * every client message goes through `execProtocolRawStream` (0.2.17).
   * Catch it, stop listening and drop the connections so clients fail fast.
   * Refusing the port (ECONNREFUSED), not a FATAL reply: postgres.js pins a
   * startup ErrorResponse on the query the dropped connection had in flight
   * and then reconnects in a tight loop.
   */
  #watch(db: PGlite): void {
    const run = db.execProtocolRawStream.bind(db);
    db.execProtocolRawStream = async (message, options) => {
      try {
        return await run(message, options);
      } catch (err) {
        this.#failure ??= new EmbeddedPostgresError(`the backend died, restart it: ${(err as Error).message ?? String(err)}`, {
          cause: err,
        });
        this.#front.close();
        for (const s of this.#sockets) s.destroy();
        throw err;
      }
    };
  }
}
