/**
 * The leadership lease: one row of `scheduler_leases` per partition, held by one replica for a
 * term. Taking an expired (or released) lease increments the term; renewing keeps it; a renewal
 * that finds another holder or term means leadership was lost. Every write the leader makes
 * that must not come from a deposed leader checks the term in the same statement (see
 * {@link LEASE_HELD_SQL}).
 */
import type { Pool } from '@gantry/store';

/** The lease a replica holds. */
export interface Lease {
  readonly name: string;
  readonly holder: string;
  readonly term: number;
}

/**
 * A SQL condition true only while `$1` (name), `$2` (holder), `$3` (term) still hold an unexpired
 * lease; statements that act as the leader include it so a deposed leader's write does nothing.
 * The expiry is compared with the statement's start, not `now()`: inside a transaction
 * (`Dispatcher.transaction`) `now()` is the time of its `BEGIN`, and a lease that ran out while
 * the transaction's earlier statements ran would still pass. `statement_timestamp()` is stable
 * within the statement, as `now()` is (`clock_timestamp()`, volatile, would keep the planner
 * from folding the claim's steps together).
 */
export const LEASE_HELD_SQL = `EXISTS (SELECT 1 FROM scheduler_leases l
  WHERE l.name = $1 AND l.holder = $2 AND l.term = $3 AND l.expires_at > statement_timestamp())`;

/** Takes the lease if it is free or expired; returns the new term, or null if someone holds it. */
export async function acquireLease(pool: Pool, name: string, holder: string, leaseMs: number): Promise<number | null> {
  const { rows } = await pool.query<{ term: string }>(
    `INSERT INTO scheduler_leases (name, holder, term, expires_at, renewed_at)
     VALUES ($1, $2, 1, now() + make_interval(secs => $3 / 1000.0), now())
     ON CONFLICT (name) DO UPDATE
       SET holder = EXCLUDED.holder, term = scheduler_leases.term + 1,
           expires_at = EXCLUDED.expires_at, renewed_at = now()
       WHERE scheduler_leases.expires_at <= now()
     RETURNING term`,
    [name, holder, leaseMs],
  );
  return rows[0] ? Number(rows[0].term) : null;
}

/** Extends a held lease; false when it is no longer ours (expired and taken, or released). */
export async function renewLease(pool: Pool, lease: Lease, leaseMs: number): Promise<boolean> {
  const { rowCount } = await pool.query(
    `UPDATE scheduler_leases SET expires_at = now() + make_interval(secs => $4 / 1000.0), renewed_at = now()
     WHERE name = $1 AND holder = $2 AND term = $3 AND expires_at > now()`,
    [lease.name, lease.holder, lease.term, leaseMs],
  );
  return rowCount === 1;
}

/** Gives the lease up at once so a standby need not wait for it to expire. */
export async function releaseLease(pool: Pool, lease: Lease): Promise<void> {
  await pool.query(
    `UPDATE scheduler_leases SET expires_at = now() WHERE name = $1 AND holder = $2 AND term = $3`,
    [lease.name, lease.holder, lease.term],
  );
}
