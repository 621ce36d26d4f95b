import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createJobs, createTestDatabase, createWorkspace, jobSpec, type PlanNode, planNodes, planOf, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool } from '@gantry/store';
import { acquireLease, type Lease } from '../leadership/lease.js';
import { claim, CLAIM_SQL, type ClaimedJob, type ClaimOptions, EXPRESS_CLAIM_SQL, unmarkDispatched } from './claim-sql.js';

const db = useTestDatabase();
let pool: Pool;
let lease: Lease;

beforeAll(async () => {
  pool = createPool(db.url, { max: 4, applicationName: 'claim-test' });
});
afterAll(async () => {
  await pool.end();
});
beforeEach(async () => {
  // Each test starts from an empty backlog and a fresh lease.
  await pool.query(`UPDATE runner_jobs SET status = 'CANCELLED' WHERE status = 'QUEUED'`);
  await pool.query(`DELETE FROM scheduler_leases`);
  const term = await acquireLease(pool, 'scheduler', 'test-holder', 60_000);
  lease = { name: 'scheduler', holder: 'test-holder', term: term! };
});

/** The jobs a claim took. */
const claimJobs = async (db: Pool, l: Lease, opts: ClaimOptions): Promise<ClaimedJob[]> => (await claim(db, l, opts)).jobs;

const options = (limit: number, over: Partial<ClaimOptions> = {}): ClaimOptions => ({
  pool: 'default',
  limit,
  defaultWorkspaceLimit: 1_000,
  agingSecondsPerPoint: 0,
  ...over,
});

/**
 * The executed plan of a claim of `limit` jobs (an express claim with `minPriority`), rolled
 * back: the generic plan, the one a named statement settles on after its first executions.
 */
async function explainClaim(limit: number, minPriority?: number): Promise<PlanNode> {
  const client = await pool.connect();
  let prepared = false;
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL plan_cache_mode = force_generic_plan`);
    await client.query(`PREPARE explained_claim AS ${minPriority === undefined ? CLAIM_SQL : EXPRESS_CLAIM_SQL}`);
    prepared = true;
    const params = [lease.name, lease.holder, lease.term, 'default', limit, 1_000_000, 0, null, ...(minPriority === undefined ? [] : [minPriority])];
    const literals = params.map((p) => (p === null ? 'NULL' : typeof p === 'number' ? String(p) : `'${p}'`));
    return planOf((await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE explained_claim(${literals.join(', ')})`)).rows);
  } finally {
    await client.query('ROLLBACK');
    if (prepared) await client.query('DEALLOCATE explained_claim'); // a session's, kept past the rollback
    client.release();
  }
}

/** Rows of `relation` a plan read: returned plus filtered out, over every loop. */
function rowsRead(plan: PlanNode, relation = 'runner_jobs'): number {
  return planNodes(plan)
    .filter((n) => n['Relation Name'] === relation)
    .reduce((sum, n) => sum + ((n['Actual Rows'] ?? 0) + (n['Rows Removed by Filter'] ?? 0)) * (n['Actual Loops'] ?? 1), 0);
}

async function queue(workspaceId: string, count: number, priority: number): Promise<string[]> {
  const jobs = await createJobs(pool, workspaceId, count, { spec: jobSpec({ priority }) });
  return jobs.map((j) => j.id);
}

describe('claimJobs', () => {
  it('takes the highest priority first, oldest first within a priority, and marks them dispatched', async () => {
    const ws = await createWorkspace(pool);
    const low = await queue(ws, 5, 10);
    const high = await queue(ws, 3, 90);
    const mid = await queue(ws, 2, 50);
    const claimed = await claimJobs(pool, lease, options(6));
    expect(claimed.map((c) => c.id)).toEqual([...high, ...mid, low[0]]);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM runner_jobs WHERE dispatched_at IS NOT NULL AND status = 'QUEUED'`);
    expect(rows[0].n).toBe(6);
    // Claimed jobs are not claimed again.
    expect((await claimJobs(pool, lease, options(10))).map((c) => c.id)).toEqual(low.slice(1));
  });

  it('claims only jobs of at least minPriority for an express claim, highest first, and leaves the rest queued', async () => {
    const ws = await createWorkspace(pool);
    const low = await queue(ws, 4, 10);
    const urgent = await queue(ws, 2, 80);
    const top = await queue(ws, 1, 95);
    const claimed = await claimJobs(pool, lease, options(10, { minPriority: 80 }));
    expect(claimed.map((c) => c.id)).toEqual([...top, ...urgent]);
    // Aging does not make a low job express: its priority, not its effective priority, counts.
    await pool.query(`UPDATE runner_jobs SET queued_at = now() - interval '1 hour' WHERE id = ANY($1::uuid[])`, [low]);
    expect(await claimJobs(pool, lease, options(10, { minPriority: 80, agingSecondsPerPoint: 1 }))).toEqual([]);
    expect((await claimJobs(pool, lease, options(10))).map((c) => c.id).sort()).toEqual([...low].sort());
  });

  it('serves workspaces round-robin within one priority, so a flood does not starve a latecomer', async () => {
    const flood = await createWorkspace(pool);
    const late = await createWorkspace(pool);
    const a = await queue(flood, 50, 50);
    const b = await queue(late, 3, 50);
    const claimed = (await claimJobs(pool, lease, options(6))).map((c) => c.id);
    expect(claimed).toEqual([a[0], b[0], a[1], b[1], a[2], b[2]]);
  });

  it('gives freed slots to the workspace with the smaller share until the shares are even', async () => {
    const flood = await createWorkspace(pool);
    const late = await createWorkspace(pool);
    const a = await queue(flood, 20, 50);
    // The flood already holds four slots.
    expect(await claimJobs(pool, lease, options(4))).toHaveLength(4);
    const b = await queue(late, 6, 50);
    const claimed = (await claimJobs(pool, lease, options(8))).map((c) => c.id);
    expect(claimed).toEqual([b[0], b[1], b[2], b[3], a[4], b[4], a[5], b[5]]);
  });

  it('holds a workspace to its running limit, counting jobs already running or dispatched', async () => {
    const limited = await createWorkspace(pool);
    await pool.query('UPDATE workspaces SET max_running_jobs = 3 WHERE id = $1', [limited]);
    const other = await createWorkspace(pool);
    const jobs = await queue(limited, 10, 50);
    await queue(other, 10, 50);
    await pool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'w' WHERE id = $1`, [jobs[0]]);
    const claimed = await claimJobs(pool, lease, options(20));
    expect(claimed.filter((c) => c.workspaceId === limited)).toHaveLength(2);
    expect(claimed.filter((c) => c.workspaceId === other)).toHaveLength(10);
    // The default limit applies to workspaces without their own.
    const third = await createWorkspace(pool);
    await queue(third, 5, 50);
    expect(await claimJobs(pool, lease, options(20, { defaultWorkspaceLimit: 2 }))).toHaveLength(2);
  });

  it('does not dispatch a job before its runAt', async () => {
    const ws = await createWorkspace(pool);
    const later = await createJobs(pool, ws, 1, { spec: jobSpec({ runAt: new Date(Date.now() + 60_000).toISOString() }) });
    await pool.query(`UPDATE runner_jobs SET run_at = $2 WHERE id = $1`, [later[0]!.id, new Date(Date.now() + 60_000)]);
    const now = await queue(ws, 1, 10);
    expect((await claimJobs(pool, lease, options(10))).map((c) => c.id)).toEqual(now);
    await pool.query(`UPDATE runner_jobs SET run_at = now() - interval '1 second' WHERE id = $1`, [later[0]!.id]);
    expect((await claimJobs(pool, lease, options(10))).map((c) => c.id)).toEqual([later[0]!.id]);
  });

  it('lifts a long-waiting job above fresher higher-priority ones by aging', async () => {
    const ws = await createWorkspace(pool);
    const [old] = await queue(ws, 1, 10);
    await pool.query(`UPDATE runner_jobs SET queued_at = now() - interval '100 seconds' WHERE id = $1`, [old]);
    const fresh = await queue(ws, 3, 15);
    // 100 s at 10 s per point: effective 20 > 15.
    expect((await claimJobs(pool, lease, options(1, { agingSecondsPerPoint: 10 }))).map((c) => c.id)).toEqual([old]);
    expect((await claimJobs(pool, lease, options(1, { agingSecondsPerPoint: 0 }))).map((c) => c.id)).toEqual([fresh[0]]);
  });

  it('ages a priority’s jobs together, so an old flood does not starve a latecomer of the same priority', async () => {
    const flood = await createWorkspace(pool);
    const late = await createWorkspace(pool);
    const a = await queue(flood, 5, 50);
    // Queued 100 s ago, in their order.
    await pool.query(
      `UPDATE runner_jobs j SET queued_at = now() - interval '100 seconds' + a.n * interval '1 millisecond'
       FROM unnest($1::uuid[]) WITH ORDINALITY AS a(id, n) WHERE j.id = a.id`,
      [a],
    );
    const b = await queue(late, 3, 50);
    // 100 s at 10 s a point lifts the latecomer's priority as much as the flood's: turn by turn.
    const claimed = (await claimJobs(pool, lease, options(6, { agingSecondsPerPoint: 10 }))).map((c) => c.id);
    expect(claimed).toEqual([a[0], b[0], a[1], b[1], a[2], b[2]]);
  });

  it('un-marks a job whose dispatch did not reach a worker only while it is the attempt that was dispatched', async () => {
    const ws = await createWorkspace(pool);
    const [job] = await queue(ws, 1, 50);
    const [claimed] = await claimJobs(pool, lease, options(1));
    expect(claimed!.id).toBe(job);
    // Meanwhile the job was queued again as attempt 2, and dispatched again.
    await pool.query(`UPDATE runner_jobs SET attempt = 2 WHERE id = $1`, [job]);
    const dispatchedAt = async () => (await pool.query<{ dispatched_at: Date | null }>('SELECT dispatched_at FROM runner_jobs WHERE id = $1', [job])).rows[0]!.dispatched_at;
    await unmarkDispatched(pool, [{ id: job!, attempt: claimed!.attempt }]);
    expect(await dispatchedAt()).not.toBeNull();
    await unmarkDispatched(pool, [{ id: job!, attempt: 2 }]);
    expect(await dispatchedAt()).toBeNull();
  });

  it('claims nothing for a deposed leader', async () => {
    const ws = await createWorkspace(pool);
    await queue(ws, 2, 50);
    await pool.query(`UPDATE scheduler_leases SET expires_at = now() - interval '1 second'`);
    const successor = await acquireLease(pool, 'scheduler', 'successor', 60_000);
    expect(successor).toBe(lease.term + 1);
    expect(await claimJobs(pool, lease, options(10))).toEqual([]);
    expect(await claimJobs(pool, { ...lease, holder: 'successor', term: successor! }, options(10))).toHaveLength(2);
  });

  it('skips a job another transaction holds, and leaves it alone once that transaction cancelled it', async () => {
    const ws = await createWorkspace(pool);
    const [held, free] = await queue(ws, 2, 50);
    const other = await pool.connect();
    try {
      await other.query('BEGIN');
      await other.query(`UPDATE runner_jobs SET status = 'CANCELLED' WHERE id = $1`, [held]);
      expect((await claimJobs(pool, lease, options(10))).map((c) => c.id)).toEqual([free]);
      await other.query('COMMIT');
    } finally {
      other.release();
    }
    expect(await claimJobs(pool, lease, options(10))).toEqual([]);
  });

  it('locks each chosen job by its primary key, whatever the statistics say about the backlog', async () => {
    // This file's table was never analyzed: the planner believes the backlog's partial indexes
    // hold about one row, as it does after an ANALYZE that found the queue empty.
    const ws = await createWorkspace(pool);
    await queue(ws, 2_000, 50);
    const plan = await explainClaim(20);
    const locks = planNodes(plan).filter((n) => n['Node Type'] === 'LockRows');
    expect(locks).toHaveLength(1);
    const probes = planNodes(locks[0]!).filter((n) => n['Index Name'] !== undefined);
    expect(probes.map((n) => n['Index Name'])).toEqual(['runner_jobs_pkey']);
    expect(locks[0]!['Actual Loops']).toBe(20);
  });

  it('reads no more of a backlog below the express priority than one probe per workspace in an express claim', async () => {
    const wss = [await createWorkspace(pool), await createWorkspace(pool)];
    for (const ws of wss) await queue(ws, 1_000, 50);
    expect(rowsRead(await explainClaim(20, 80))).toBeLessThanOrEqual(10);
  });

  it('reads only the held jobs and the backlog, however many jobs ended and workspaces exist, under a plan made while the database was empty', async () => {
    // The generic plan a scheduler settles on is made in its first rounds and kept while the
    // tables grow. Its count of held jobs once scanned every job, and its workspace limits every
    // workspace, in every round.
    const fresh = await createTestDatabase(inject('gantryTemplateDatabase'));
    const freshPool = createPool(fresh.url, { max: 2, applicationName: 'claim-test-fresh' });
    const client = await freshPool.connect();
    try {
      const term = await acquireLease(freshPool, 'scheduler', 'test-holder', 60_000);
      const workers = `'[{"worker_id": "held-a", "slots": 100, "busy": 2, "express": 0}]'`; // the credit counts held jobs
      await client.query(`SET plan_cache_mode = force_generic_plan`);
      await client.query(`PREPARE fresh_claim AS ${CLAIM_SQL}`);
      const execute = `EXECUTE fresh_claim('scheduler', 'test-holder', ${term}, 'default', 20, 1000000, 0, ${workers})`;
      await client.query(`EXPLAIN ${execute}`); // made and cached while the tables are empty
      await freshPool.query(`INSERT INTO workspaces (name) SELECT 'many-' || g FROM generate_series(1, 2000) g`);
      const ws = await createWorkspace(freshPool);
      const jobs = (await createJobs(freshPool, ws, 2_004, { spec: jobSpec({ priority: 50 }) })).map((j) => j.id);
      await freshPool.query(`UPDATE runner_jobs SET status = 'COMPLETED' WHERE id = ANY($1)`, [jobs.slice(4)]);
      await freshPool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'held-a', dispatched_at = now() WHERE id = ANY($1)`, [jobs.slice(0, 2)]);
      await freshPool.query(`UPDATE runner_jobs SET dispatched_at = now() WHERE id = $1`, [jobs[2]]);
      // 3 jobs held, 1 queued: the claim takes the queued one and reads little else.
      await client.query('BEGIN');
      const plan = planOf((await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${execute}`)).rows);
      await client.query('ROLLBACK');
      expect(planNodes(plan).find((n) => n['Node Type'] === 'ModifyTable')?.['Actual Rows']).toBe(1);
      expect(rowsRead(plan, 'runner_jobs')).toBeLessThanOrEqual(20);
      expect(rowsRead(plan, 'workspaces')).toBeLessThanOrEqual(2);
    } finally {
      client.release();
      await freshPool.end();
      await fresh.drop();
    }
  });

  it('leaves the jobs a worker holds in express slots out of its ordinary credit', async () => {
    const ws = await createWorkspace(pool);
    const running = await queue(ws, 3, 90);
    await pool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'express-a', dispatched_at = now() WHERE id = ANY($1)`, [running]);
    const waiting = await queue(ws, 5, 50);
    // 3 RUNNING rows, 2 of them in express slots: 1 of its 2 ordinary slots is busy.
    const workers = [{ workerId: 'express-a', slots: 2, busy: 1, express: 2 }];
    const claimed = await claim(pool, lease, { ...options(100), workers });
    expect(claimed.credit).toBe(1);
    expect(claimed.jobs.map((j) => j.id)).toEqual(waiting.slice(0, 1));
    await pool.query(`UPDATE runner_jobs SET status = 'COMPLETED' WHERE id = ANY($1)`, [running]);
  });

  it('counts the express jobs sent since a worker’s beat while the database shows them running there', async () => {
    const ws = await createWorkspace(pool);
    const [ordinary, express, ended] = await queue(ws, 3, 90);
    await pool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'express-b', dispatched_at = now() WHERE id = ANY($1)`, [[ordinary, express]]);
    await pool.query(`UPDATE runner_jobs SET status = 'COMPLETED' WHERE id = $1`, [ended]);
    const waiting = await queue(ws, 3, 50);
    // Its beat predates all three (nothing busy); two jobs went to its express slots since, and
    // one of them ended: of its 2 RUNNING rows 1 is express, so 1 of its 2 ordinary slots is busy.
    const workers = [{ workerId: 'express-b', slots: 2, busy: 0, express: 0, expressSent: [{ id: express!, attempt: 1 }, { id: ended!, attempt: 1 }] }];
    const claimed = await claim(pool, lease, { ...options(100), workers });
    expect(claimed.credit).toBe(1);
    expect(claimed.jobs.map((j) => j.id)).toEqual(waiting.slice(0, 1));
    await pool.query(`UPDATE runner_jobs SET status = 'COMPLETED' WHERE id = ANY($1)`, [[ordinary, express, ...waiting]]);
  });

  it('counts the credit of the workers it is given: free slots (beat or database, the larger) less the dispatched jobs not claimed yet', async () => {
    const ws = await createWorkspace(pool);
    const [runA, runB, dispatched] = await queue(ws, 3, 50);
    await pool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'credit-a', dispatched_at = now() WHERE id = ANY($1)`, [[runA, runB]]);
    await pool.query(`UPDATE runner_jobs SET dispatched_at = now() WHERE id = $1`, [dispatched]);
    const waiting = await queue(ws, 10, 50);
    const workers = [
      { workerId: 'credit-a', slots: 4, busy: 1 }, // the database knows of 2 running: 2 free
      { workerId: 'credit-b', slots: 3, busy: 2 }, // its beat says 2: 1 free
    ];
    // 3 free slots, one of them promised to the dispatched job.
    const first = await claim(pool, lease, { ...options(100), workers });
    expect(first.credit).toBe(2);
    expect(first.jobs.map((j) => j.id)).toEqual(waiting.slice(0, 2));
    // What it claimed is dispatched and unclaimed now: no credit is left, and nothing is claimed.
    expect(await claim(pool, lease, { ...options(100), workers })).toEqual({ credit: 0, jobs: [] });
    // The batch bounds what a round claims, not the credit it reports.
    const wide = await claim(pool, lease, { ...options(1), workers: [{ workerId: 'credit-c', slots: 10, busy: 0 }] });
    expect(wide.credit).toBe(7);
    expect(wide.jobs.map((j) => j.id)).toEqual([waiting[2]]);
    await pool.query(`UPDATE runner_jobs SET status = 'COMPLETED' WHERE id = ANY($1)`, [[runA, runB]]);
  });
});

describe('a workspace’s running limit', () => {
  // The claim counted only the pool it claimed for, so a workspace with jobs in two pools ran up
  // to its limit in each.
  it('holds across the pools its jobs run in', async () => {
    const ws = await createWorkspace(pool);
    await pool.query('UPDATE workspaces SET max_running_jobs = 2 WHERE id = $1', [ws]);
    await createJobs(pool, ws, 3, { spec: jobSpec({ pool: 'limit-a' }) });
    await createJobs(pool, ws, 3, { spec: jobSpec({ pool: 'limit-b' }) });

    expect(await claimJobs(pool, lease, options(10, { pool: 'limit-a' }))).toHaveLength(2);
    // The workspace now holds its limit (2 dispatched in pool limit-a): pool limit-b gets nothing.
    const inB = await claimJobs(pool, lease, options(10, { pool: 'limit-b' }));
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM runner_jobs WHERE workspace_id = $1
         AND (status = 'RUNNING' OR (status = 'QUEUED' AND dispatched_at IS NOT NULL))`,
      [ws],
    );
    expect({ claimedInB: inB.length, heldByWorkspace: rows[0]!.n }).toEqual({ claimedInB: 0, heldByWorkspace: 2 });
  });
});

describe('aging', () => {
  // Aging counted from queued_at (the submit), so a low-priority job scheduled an hour ahead was
  // at the maximum priority the moment it became runnable, and beat fresh urgent jobs.
  it('counts from when a job became runnable: a fresh urgent job goes before a low job that just became runnable', async () => {
    const ws = await createWorkspace(pool);
    // A priority-10 job submitted an hour ago with runAt one second ago (it just became runnable).
    const [delayed] = await createJobs(pool, ws, 1, { spec: jobSpec({ priority: 10, pool: 'aging' }) });
    await pool.query(`UPDATE runner_jobs SET queued_at = now() - interval '1 hour', run_at = now() - interval '1 second' WHERE id = $1`, [delayed!.id]);
    const [urgent] = await createJobs(pool, ws, 1, { spec: jobSpec({ priority: 90, pool: 'aging' }) });

    const jobs = await claimJobs(pool, lease, options(1, { pool: 'aging', agingSecondsPerPoint: 10 }));
    // One second of real waiting is worth no aging point at 10 s a point: 10 < 90.
    const name = (id: string) => (id === urgent!.id ? 'urgent p90, fresh' : id === delayed!.id ? 'p10, runnable 1 s ago' : id);
    expect(jobs.map((j) => name(j.id))).toEqual(['urgent p90, fresh']);
  });
});
