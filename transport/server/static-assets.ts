/**
 * The browser console's files, served by the gateway: the page, its
 * stylesheet, and its script, bundled from `console/console.ts` with
 * esbuild's JS API when the gateway starts (no build step before
 * `npm start`). The bundle is made once per process and kept in memory.
 */
import { createHash } from 'node:crypto';
import { access, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { HttpResponse, TemplatedApp } from 'uWebSockets.js';

/** Registers GET routes for the console's page and assets. */
export interface StaticAssets {
  register(app: TemplatedApp): void;
}

/** One file held in memory. */
interface Asset {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** Options of {@link ConsoleAssets.create}. */
export interface ConsoleAssetsOptions {
  /** Folder holding index.html, console.css and console.ts (or console.js once compiled). @default `../console/` beside this folder */
  readonly dir?: string;
  /** Minify the script. @default true */
  readonly minify?: boolean;
}

/** The console room beside this folder; from a `tsc` build in dist/, the page and stylesheet are not copied, so the source tree's folder. */
const DEFAULT_DIRS = [new URL('../console/', import.meta.url), new URL('../../../transport/console/', import.meta.url)].map((u) =>
  fileURLToPath(u),
);

/** Bundles by folder: every gateway of a process (tests start several) shares one build. */
const builds = new Map<string, Promise<Map<string, Asset>>>();

function asset(body: string | Uint8Array, type: string): Asset {
  const buf = Buffer.from(body);
  return { body: buf, type, etag: `"${createHash('sha256').update(buf).digest('base64url').slice(0, 22)}"` };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function build(dir: string, minify: boolean): Promise<Map<string, Asset>> {
  // Loaded here, not at the top: a gateway without the console never needs esbuild.
  const esbuild = await import('esbuild');
  const entry = (await exists(`${dir}/console.ts`)) ? `${dir}/console.ts` : `${dir}/console.js`;
  const out = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    sourcemap: false,
    legalComments: 'none',
    logLevel: 'silent',
    charset: 'utf8',
  });
  const js = out.outputFiles[0];
  if (js === undefined) throw new Error(`esbuild produced no output for ${entry}`);
  const [html, css] = await Promise.all([readFile(`${dir}/index.html`), readFile(`${dir}/console.css`)]);
  return new Map([
    ['/', asset(html, 'text/html; charset=utf-8')],
    ['/console.css', asset(css, 'text/css; charset=utf-8')],
    ['/console.js', asset(js.contents, 'text/javascript; charset=utf-8')],
  ]);
}

/** A Host header fit to put in a header value (no spaces, quotes or separators). */
const HOST = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/;

/**
 * Same-origin everything, and sockets back to the host that served the
 * page; no inline script or style, no frames, no plugins.
 */
export function contentSecurityPolicy(host: string): string {
  const ws = HOST.test(host) ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${ws}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

/** The trader console: GET `/`, `/console.css` and `/console.js`. */
export class ConsoleAssets implements StaticAssets {
  readonly #files: ReadonlyMap<string, Asset>;

  private constructor(files: ReadonlyMap<string, Asset>) {
    this.#files = files;
  }

  /** Bundle the console (once per folder per process) and read its page; rejects when the bundle does not build. */
  static async create(o: ConsoleAssetsOptions = {}): Promise<ConsoleAssets> {
    let dir = o.dir;
    for (const d of DEFAULT_DIRS) if (dir === undefined && (await exists(`${d}/index.html`))) dir = d;
    if (dir === undefined) throw new Error(`console files not found in ${DEFAULT_DIRS.join(' or ')}`);
    const key = `${dir}\0${o.minify ?? true}`;
    let files = builds.get(key);
    if (files === undefined) {
      files = build(dir, o.minify ?? true);
      builds.set(key, files);
      files.catch(() => builds.delete(key)); // a failed build is retried by the next create
    }
    return new ConsoleAssets(await files);
  }

  /** Bytes of a served path (tests and diagnostics). */
  size(path: string): number | undefined {
    return this.#files.get(path)?.body.byteLength;
  }

  register(app: TemplatedApp): void {
    for (const [path, file] of this.#files) {
      app.get(path, (res, req) => {
        const host = req.getHeader('host');
        const fresh = req.getHeader('if-none-match') === file.etag;
        serve(res, file, fresh, path === '/' ? contentSecurityPolicy(host) : undefined);
      });
    }
    app.get('/index.html', (res) => void res.cork(() => res.writeStatus('308 Permanent Redirect').writeHeader('location', '/').end()));
  }
}

function serve(res: HttpResponse, file: Asset, notModified: boolean, csp: string | undefined): void {
  res.cork(() => {
    res.writeStatus(notModified ? '304 Not Modified' : '200 OK');
    res.writeHeader('content-type', file.type);
    res.writeHeader('etag', file.etag);
    // Revalidate every load: the bundle changes with each deploy and is tiny.
    res.writeHeader('cache-control', 'no-cache');
    res.writeHeader('x-content-type-options', 'nosniff');
    res.writeHeader('referrer-policy', 'no-referrer');
    if (csp !== undefined) {
      res.writeHeader('content-security-policy', csp);
      res.writeHeader('x-frame-options', 'DENY');
    }
    if (notModified) res.endWithoutBody();
    else res.end(file.body);
  });
}
