/**
 * Print the NATS chart's `config.merge.authorization` block for a deployment:
 * the users of `natsPermissions` (transport/nats) under a subject namespace,
 * each password the chart's `<< $NATS_<ROLE>_PASSWORD >>` variable, plus the
 * operators' `admin`. `k8s/nats/values-prod.yaml` holds its output for no
 * namespace (a test keeps them equal).
 *
 *   npm run nats-users                      # NATS_NAMESPACE unset
 *   npm run nats-users -- --namespace acme  # every subject under `acme.`
 */
import { Command } from 'commander';
import { stringify } from 'yaml';
import { NATS_ROLES, natsPermissions } from '../transport/nats/index.js';

/** The chart variable a role's password comes from. */
export function passwordVariable(user: string): string {
  return `<< $NATS_${user.toUpperCase().replace(/-/g, '_')}_PASSWORD >>`;
}

/** The `authorization` object of the chart's values for `namespace`. */
export function natsAuthorization(namespace = ''): { users: Array<Record<string, unknown>> } {
  const permissions = natsPermissions(namespace);
  return {
    users: [
      ...NATS_ROLES.map((user) => ({ user, password: passwordVariable(user), permissions: permissions[user] })),
      { user: 'admin', password: passwordVariable('admin') }, // operators (nats-box, the runbook): everything
    ],
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const o = new Command()
    .name('nats-users')
    .description("The NATS chart's authorization block for a deployment's subject namespace")
    .option('--namespace <ns>', 'NATS_NAMESPACE of the deployment', process.env['NATS_NAMESPACE'] ?? '')
    .parse()
    .opts<{ namespace: string }>();
  process.stdout.write(stringify({ authorization: natsAuthorization(o.namespace) }, { lineWidth: 0, aliasDuplicateObjects: false }));
}
