/**
 * Loads uWebSockets.js and tells whether its native binary loaded. The
 * package silently falls back to a slow JavaScript shim when the binary does
 * not load; the gateway refuses to run on that unless told to.
 */
import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';
import { UwsFallbackError } from './errors.js';

export type UwsModule = typeof Uws;

/** The module and which implementation it is. */
export interface LoadedUws {
  readonly uws: UwsModule;
  readonly native: boolean;
  /** e.g. `native uWS (uws_linux_x64_115.node)` or `JavaScript fallback`. */
  readonly implementation: string;
}

/** Load uWS; throws {@link UwsFallbackError} on the fallback unless `allowFallback`. */
export function loadUws(allowFallback = false): LoadedUws {
  const require = createRequire(import.meta.url);
  const uws = require('uWebSockets.js') as UwsModule;
  const binary = Object.keys(require.cache).find((k) => /uws_[^/]*\.node$/.test(k));
  const native = binary !== undefined;
  if (!native && !allowFallback) throw new UwsFallbackError();
  return { uws, native, implementation: native ? `native uWS (${binary!.split('/').pop()})` : 'JavaScript fallback' };
}
