/**
 * Purchases in Postgres (migration 0003): users, tier versions, purchases,
 * processed webhooks and the assessments paid purchases create. The purchase
 * flow (transport/payments) decides; this store only reads and writes rows.
 */
import type postgres from 'postgres';
import type {
  AssessmentRow,
  PendingPurchase,
  PurchaseLedger,
  PurchaseRow,
  PurchaseStatus,
  PurchaseStore,
} from '../../transport/payments/index.js';
import { mapPgError } from './errors.js';

type Tx = postgres.TransactionSql;

const PURCHASE_COLUMNS = [
  'id',
  'user_id',
  'tier_id',
  'tier_version',
  'amount_cents',
  'currency',
  'status',
  'external_ref',
  'payment_intent',
];

interface PurchaseDbRow {
  id: string;
  user_id: string;
  tier_id: string;
  tier_version: number;
  amount_cents: string | number;
  currency: string;
  status: PurchaseStatus;
  external_ref: string | null;
  payment_intent: string | null;
}

function toPurchase(r: PurchaseDbRow): PurchaseRow {
  return {
    // amount_cents is bigint: postgres.js hands it over as a string.
    id: r.id,
    userId: r.user_id,
    tierId: r.tier_id,
    tierVersion: r.tier_version,
    amountCents: Number(r.amount_cents),
    currency: r.currency,
    status: r.status,
    externalRef: r.external_ref,
    paymentIntent: r.payment_intent,
  };
}

/** {@link PurchaseLedger} over one transaction: every read locks its row (`for update`). */
class PgPurchaseLedger implements PurchaseLedger {
  readonly #tx: Tx;
  constructor(tx: Tx) {
    this.#tx = tx;
  }

  async lockPurchase(purchaseId: string): Promise<PurchaseRow | undefined> {
    const tx = this.#tx;
    const [row] = await tx<PurchaseDbRow[]>`select ${tx(PURCHASE_COLUMNS)} from purchases where id = ${purchaseId} for update`;
    return row && toPurchase(row);
  }

  async lockPurchaseByPaymentIntent(paymentIntent: string): Promise<PurchaseRow | undefined> {
    const tx = this.#tx;
    const [row] = await tx<
      PurchaseDbRow[]
    >`select ${tx(PURCHASE_COLUMNS)} from purchases where payment_intent = ${paymentIntent} for update`;
    return row && toPurchase(row);
  }

  async setPaid(purchaseId: string, paymentIntent: string | null, sessionId: string): Promise<PurchaseRow> {
    const tx = this.#tx;
    const [row] = await tx<PurchaseDbRow[]>`
      update purchases set status = 'paid', payment_intent = ${paymentIntent}, external_ref = ${sessionId}, updated_at = now()
      where id = ${purchaseId} returning ${tx(PURCHASE_COLUMNS)}`;
    return toPurchase(row!);
  }

  async setStatus(purchaseId: string, status: 'failed' | 'refunded'): Promise<PurchaseRow> {
    const tx = this.#tx;
    const [row] = await tx<PurchaseDbRow[]>`
      update purchases set status = ${status}, updated_at = now() where id = ${purchaseId} returning ${tx(PURCHASE_COLUMNS)}`;
    return toPurchase(row!);
  }

  async createAssessment(a: { id: string; traderId: string; tierId: string; tierVersion: number; purchaseId: string }): Promise<string> {
    const tx = this.#tx;
    await tx`
      insert into assessments (id, trader_id, tier_id, tier_version, purchase_id, status, phase)
      select ${a.id}, ${a.traderId}, t.id, t.version, ${a.purchaseId}, 'created', t.definition -> 'phases' -> 0 ->> 'name'
      from tiers t where t.id = ${a.tierId} and t.version = ${a.tierVersion}
      on conflict (id) do nothing`;
    const [row] = await tx<{ phase: string }[]>`select phase from assessments where id = ${a.id}`;
    return row!.phase;
  }
}

/** {@link PurchaseStore} in Postgres. Driver errors that mean the database is gone become `PgUnavailableError`. */
export class PgPurchaseStore implements PurchaseStore {
  readonly #sql: postgres.Sql;

  /** @param sql client of a database migrated to 0003 or later (not owned: the caller ends it) */
  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  async recordPending(p: PendingPurchase): Promise<'recorded' | 'email-in-use'> {
    try {
      await this.#sql.begin(async (tx) => {
        await tx`
          insert into users (id, email) values (${p.userId}, ${p.email})
          on conflict (id) do update set email = excluded.email where users.email <> excluded.email`;
        // Tier versions are immutable: the first definition stored for (id, version) stays.
        await tx`
          insert into tiers (id, version, definition) values (${p.tier.id}, ${p.tier.version}, ${tx.json(p.tier as unknown as postgres.JSONValue)})
          on conflict (id, version) do nothing`;
        await tx`
          insert into purchases (id, user_id, tier_id, tier_version, amount_cents, currency, status)
          values (${p.purchaseId}, ${p.userId}, ${p.tier.id}, ${p.tier.version}, ${p.amountCents}, ${p.currency}, 'pending')`;
      });
      return 'recorded';
    } catch (err) {
      const e = err as { code?: unknown; constraint_name?: unknown };
      if (e.code === '23505' && e.constraint_name === 'users_email_key') return 'email-in-use';
      throw mapPgError(err);
    }
  }

  async markCheckoutFailed(purchaseId: string): Promise<void> {
    await this.#run(
      () => this.#sql`update purchases set status = 'failed', updated_at = now() where id = ${purchaseId} and status = 'pending'`,
    );
  }

  async attachCheckoutSession(purchaseId: string, sessionId: string): Promise<void> {
    await this.#run(() => this.#sql`update purchases set external_ref = ${sessionId}, updated_at = now() where id = ${purchaseId}`);
  }

  async oncePerEvent<T>(eventId: string, eventType: string, apply: (ledger: PurchaseLedger) => Promise<T>): Promise<T | 'duplicate'> {
    return this.#run(
      () =>
        this.#sql.begin(async (tx) => {
          const [recorded] = await tx`
        insert into processed_webhooks (event_id, provider, event_type) values (${eventId}, 'stripe', ${eventType})
        on conflict (event_id) do nothing returning event_id`;
          // A concurrent delivery blocks on the insert until the first commits, then finds the row.
          if (recorded === undefined) return 'duplicate' as const;
          return apply(new PgPurchaseLedger(tx));
        }) as Promise<T | 'duplicate'>,
    );
  }

  async unissuedAssessments(minAgeSeconds: number, limit: number): Promise<readonly AssessmentRow[]> {
    const rows = await this.#run(
      () => this.#sql<{ id: string; trader_id: string; tier_id: string; tier_version: number; purchase_id: string; phase: string }[]>`
      select a.id, a.trader_id, a.tier_id, a.tier_version, a.purchase_id, a.phase
      from assessments a join purchases p on p.id = a.purchase_id
      where a.issued_at is null and a.purchase_id is not null and p.status = 'paid'
        and a.created_at <= now() - make_interval(secs => ${minAgeSeconds})
      order by a.created_at limit ${limit}`,
    );
    return rows.map((r) => ({
      id: r.id,
      traderId: r.trader_id,
      tierId: r.tier_id,
      tierVersion: r.tier_version,
      purchaseId: r.purchase_id,
      phase: r.phase,
    }));
  }

  async markIssued(assessmentId: string): Promise<void> {
    await this.#run(
      () => this.#sql`update assessments set issued_at = now(), updated_at = now() where id = ${assessmentId} and issued_at is null`,
    );
  }

  async #run<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw mapPgError(err);
    }
  }
}
