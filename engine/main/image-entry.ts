/**
 * The container image's entry (deploy/Dockerfile):
 * `node <server V8 flags> dist/engine/main/image-entry.js <role> [args...]`.
 * Runs the role's entry in this process (roles in image-roles.ts); an unknown
 * role exits 64 with the list of roles.
 */
import { IMAGE_GATEWAY_HOST, IMAGE_ROLES, ImageRoleError, resolveImageRole } from './image-roles.js';

let resolved: ReturnType<typeof resolveImageRole>;
try {
  resolved = resolveImageRole(process.argv.slice(2), process.env);
} catch (err) {
  if (!(err instanceof ImageRoleError)) throw err;
  process.stderr.write(
    `vatic-engine: ${err.message}\n\nroles:\n${Object.entries(IMAGE_ROLES)
      .map(([n, r]) => `  ${n.padEnd(12)} ${r.summary}`)
      .join('\n')}\n`,
  );
  process.exit(64);
}
if (resolved.role.engineRole !== undefined) process.env['ENGINE_ROLE'] = resolved.role.engineRole;
// In a container the published port arrives on the container's interface, never its loopback:
// the gateway binds every address unless told otherwise (npm start and npm run serve keep 127.0.0.1).
process.env['GATEWAY_HOST'] ??= IMAGE_GATEWAY_HOST;
// The role's own command line parser reads process.argv from index 2.
process.argv.splice(2, process.argv.length - 2, ...resolved.args);
await import(new URL(resolved.role.entry, import.meta.url).href);
