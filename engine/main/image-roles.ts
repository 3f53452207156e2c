/**
 * The roles the container image runs, one image for all of them: the first
 * argument names the role (`docker run vatic-engine gateway`, `args: [engine]`
 * in a pod), or, without one, `ENGINE_ROLE` does (default `all`). Each role is
 * a compiled entry started in the same node process, so the V8 flags the image
 * starts node with apply to it and SIGTERM reaches it directly (node is PID 1).
 */

/** The gateway's bind address in the image when `GATEWAY_HOST` is unset: every interface, so `docker run -p 8080:8080` reaches it. */
export const IMAGE_GATEWAY_HOST = '0.0.0.0';

/** What one role runs. */
export interface ImageRole {
  /** Module to import, relative to this file (`.js`: tsx maps it to the `.ts` source). */
  readonly entry: string;
  /** The `ENGINE_ROLE` the serve process runs as, for the serving roles. */
  readonly engineRole?: 'all' | 'engine' | 'gateway';
  /** One line for `--help` and the runbook. */
  readonly summary: string;
}

/** Every role of the image, by the name given as its first argument. */
export const IMAGE_ROLES = {
  all: { entry: './serve.js', engineRole: 'all', summary: 'engine node and gateway in one process (a solo node without NODE_ID)' },
  engine: {
    entry: './serve.js',
    engineRole: 'engine',
    summary: 'an engine node: shards, journal, checkpoints; /livez, /readyz, /metrics on OPS_PORT',
  },
  gateway: { entry: './serve.js', engineRole: 'gateway', summary: 'a stateless gateway: WebSocket and HTTP API on GATEWAY_PORT' },
  migrate: { entry: './migrate.js', summary: 'apply pending Postgres migrations (DATABASE_URL or --url), then exit' },
  'market-data': { entry: './market-data.js', summary: 'publish ticks to the JetStream market stream (see --help)' },
  replay: { entry: './replay.js', summary: 'replay a tape and print its events (see --help)' },
} as const satisfies Record<string, ImageRole>;

/** A role's name. */
export type ImageRoleName = keyof typeof IMAGE_ROLES;

/** Raised when the arguments or environment name no role, or two different ones. */
export class ImageRoleError extends Error {
  readonly code: 'UNKNOWN_ROLE' | 'ROLE_CONFLICT';
  constructor(code: 'UNKNOWN_ROLE' | 'ROLE_CONFLICT', message: string) {
    super(message);
    this.code = code;
    this.name = 'ImageRoleError';
  }
}

/** The role chosen, and the arguments left for its entry. */
export interface ResolvedRole {
  readonly name: ImageRoleName;
  readonly role: ImageRole;
  readonly args: readonly string[];
}

function isRole(name: string): name is ImageRoleName {
  return Object.hasOwn(IMAGE_ROLES, name);
}

/**
 * The role `args` (the image's arguments) and `env` choose. The first argument
 * is the role when given; `ENGINE_ROLE` must then agree with it (a pod that
 * says `gateway` in its args and `engine` in its env is a mistake, not a choice).
 */
export function resolveImageRole(args: readonly string[], env: Readonly<Record<string, string | undefined>>): ResolvedRole {
  const fromEnv = env['ENGINE_ROLE'];
  const [first, ...rest] = args;
  const names = Object.keys(IMAGE_ROLES).join(', ');
  if (first === undefined) {
    const name = fromEnv ?? 'all';
    if (!isRole(name) || IMAGE_ROLES[name].entry !== './serve.js')
      throw new ImageRoleError('UNKNOWN_ROLE', `ENGINE_ROLE '${name}' is not one of all, engine, gateway`);
    return { name, role: IMAGE_ROLES[name], args: [] };
  }
  if (!isRole(first)) throw new ImageRoleError('UNKNOWN_ROLE', `'${first}' is not a role; the first argument is one of ${names}`);
  const role: ImageRole = IMAGE_ROLES[first];
  if (role.engineRole !== undefined && fromEnv !== undefined && fromEnv !== role.engineRole) {
    throw new ImageRoleError('ROLE_CONFLICT', `the argument says '${first}' but ENGINE_ROLE is '${fromEnv}'`);
  }
  return { name: first, role, args: rest };
}
