/**
 * `npm run assessment -- create --trader <id> --tier <tier>`: creates an
 * assessment on a running engine node (`npm run serve` with NATS) through its
 * intake subject, the same door the gateway and the purchase flow use, and
 * prints the node's answer. Without a payment provider this is how an
 * operator gives a trader an account.
 */
import { randomBytes } from 'node:crypto';
import { Command, InvalidArgumentError } from 'commander';
import { decode, encode } from '@msgpack/msgpack';
import { connect } from '@nats-io/transport-node';
import { intakeSubjects, natsServer } from '../../transport/nats/index.js';
import type { IntakeResult } from '../index.js';

const ID = /^[A-Za-z0-9._:-]{1,64}$/;
function id(v: string): string {
  if (!ID.test(v)) throw new InvalidArgumentError('1..64 letters, digits and . _ : -');
  return v;
}

const program = new Command('assessment').description('Operate on assessments of a running engine node over NATS');
program
  .command('create')
  .description('create an assessment for a trader on a tier, answered once it is durable')
  .requiredOption('--trader <id>', 'trader id (the `sub` of their token)', id)
  .requiredOption('--tier <id>', 'tier id, e.g. two-step-100k (GET /v1/tiers lists them)', id)
  .option('--id <id>', 'assessment id (default: a new random one)', id)
  .option('--nats <url>', 'NATS server (NATS_URL)', process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222')
  .option('--namespace <prefix>', 'subject namespace (NATS_NAMESPACE)', process.env['NATS_NAMESPACE'] ?? '')
  .option('--group <name>', "the node's shard group (ENGINE_GROUP)", process.env['ENGINE_GROUP'] ?? 'default')
  .action(async (o: { trader: string; tier: string; id?: string; nats: string; namespace: string; group: string }) => {
    const assessmentId = o.id ?? `a-${randomBytes(6).toString('hex')}`;
    const nc = await connect({ ...natsServer(o.nats), name: 'vatic-assessment' });
    try {
      const subject = intakeSubjects(o.group, o.namespace).intake;
      let reply: Awaited<ReturnType<typeof nc.request>>;
      try {
        reply = await nc.request(subject, encode({ kind: 'create', assessmentId, traderId: o.trader, tierId: o.tier }), {
          timeout: 10_000,
        });
      } catch (err) {
        throw new Error(
          `no engine node answered on ${subject} (${(err as Error).message}): is npm run serve running with NATS_URL${o.namespace === '' ? '' : ` and NATS_NAMESPACE=${o.namespace}`}?`,
        );
      }
      const result = decode(reply.data) as IntakeResult;
      process.stdout.write(`${JSON.stringify({ assessmentId, traderId: o.trader, tierId: o.tier, ...result })}\n`);
      if (!result.ok) process.exitCode = 1;
    } finally {
      await nc.drain();
    }
  });

await program.parseAsync().catch((err: unknown) => {
  process.stderr.write(`assessment: ${(err as Error).message}\n`);
  process.exit(2);
});
