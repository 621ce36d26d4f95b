/**
 * The set-based claim: one statement counts a pool's credit, picks the pool's next jobs within
 * it and marks them dispatched — one round trip per pool and round.
 *
 * 0. `held`, `credit`: the jobs running (by worker and workspace) and dispatched but not yet
 *    claimed, counted once, this pool's apart. The credit is what the pool can start now: each live worker
 *    that is not draining (`$8`, from the heartbeats) offers its slots minus the jobs it holds —
 *    the larger of what its last beat said and what the database records (less the jobs it
 *    holds in express slots, which are no ordinary slot's: those the leader sent it that the
 *    database shows RUNNING on it, not those that ended since, and the rest its beat counted), so a claim
 *    made after the beat still counts — and the dispatched, unclaimed jobs are taken off the sum. A
 *    round claims the credit's worth of jobs, never more than its batch (`$5`): jobs wait in
 *    PostgreSQL, where priority can still reorder them, not in the dispatch stream. Without
 *    `$8` the batch alone is the credit.
 * 1. `ws`: the workspaces with a dispatchable backlog in the pool (a skip scan: one index probe
 *    per workspace, whatever the backlog size);
 * 2. `room`: how many more each may run now — its limit (`workspaces.max_running_jobs`, else the
 *    default) minus its jobs running or dispatched in every pool (the limit is the workspace's,
 *    not a pool's), and never more than the credit (the
 *    recursion's last row, with no workspace, is left out);
 * 3. `heads`: each workspace's head, twice — by priority then age, and by the time each job
 *    became runnable alone (so aging can lift a long-waiting job whatever its priority) — at
 *    most `room` of each. A job became runnable when it was queued, or when its `run_at` (a
 *    delay, a retry's backoff) came, whichever was later. The express
 *    claim (`EXPRESS_CLAIM_SQL`, see `dispatcher.ts`) takes only jobs of priority `$9` or more,
 *    by priority alone (a range of the backlog index, so a backlog below `$9` costs nothing).
 *    A job that carries a cancel request (its attempt ended, and it was queued again, just after
 *    the request) is never a head: it is the reconciler's to cancel (row 10), not to run again;
 * 4. `ordered`: effective priority = priority + seconds runnable / AGING_SECONDS_PER_POINT
 *    (capped at the maximum priority), where the seconds are those of the longest-waiting head
 *    of that priority, whatever its workspace: a priority's jobs age together. Aged each by its
 *    own wait, a flood's older jobs stayed points ahead of a latecomer's of the same priority
 *    and starved it (100 s at 10 s a point: 60 against 50) until the flood drained or both
 *    reached the cap; aged together, they tie, and round-robin shares the slots. A priority
 *    whose oldest job waits still rises above higher ones, so nothing starves. And each job's
 *    turn within its workspace, counted on from
 *    the jobs the workspace already has running or dispatched in this pool (its share of the
 *    pool's slots). The wait is never less than 0: claimed in the transaction that created it (`Dispatcher.transaction`),
 *    a job's `queued_at` (the insert's clock) is later than `now()` (the transaction's start),
 *    and floored it would lose a point;
 * 5. `eligible`: highest effective priority first and, within one effective priority, turn by
 *    turn across workspaces — round-robin from equal shares, so a workspace that arrives while
 *    another holds every slot takes the freed slots until their shares are even;
 * 6. `locked`, `claim`: each eligible job is locked by its primary key (`FOR UPDATE SKIP
 *    LOCKED`, which returns the row as last committed) and claimed only if it is still
 *    dispatchable, without a cancel request, and the caller's lease term is still the current
 *    one (a deposed leader claims nothing).
 *
 * The generic plan a scheduler settles on is made in its first rounds, often over tables that
 * look empty, and kept while they grow; so no step may depend on an estimate to avoid a scan:
 * - `held` reads its two kinds of jobs apart, each by the partial index that holds exactly them.
 *   Stated as one condition (running, or queued and dispatched), it matched neither index, and
 *   the plan scanned the whole table in every round (8 ms a round over 20,000 ended jobs);
 * - `room` reads each workspace's limit by its primary key. Joined, the plan read every
 *   workspace in every round.
 *
 * The lock step names nothing but the id on purpose. Stated with the backlog's conditions, it
 * lets the planner pick the backlog's partial indexes, which it believes tiny whenever its
 * statistics predate the backlog (a table not analyzed yet, or analyzed while the queue was
 * empty — the normal case for a burst): it then scanned the whole backlog once per eligible job
 * (2.5 s for 256 jobs over a 20,000-job backlog; now about 1 ms, one probe per job).
 */
import { Priority } from '@gantry/contracts';
import { type Pool, type PoolClient, statement } from '@gantry/store';
import type { Lease } from '../leadership/lease.js';
import { LEASE_HELD_SQL } from '../leadership/lease.js';

const DISPATCHABLE = `status = 'QUEUED' AND dispatched_at IS NULL`;
const J_DISPATCHABLE = `j.status = 'QUEUED' AND j.dispatched_at IS NULL`;

/** The claim's text; `express` claims only jobs of at least priority `$9`, by priority alone (see the module doc). */
function claimSql(express: boolean): string {
  return `
WITH RECURSIVE ws(workspace_id) AS (
  (SELECT workspace_id FROM runner_jobs WHERE pool = $4 AND ${DISPATCHABLE} ORDER BY workspace_id LIMIT 1)
  UNION ALL
  SELECT (SELECT j.workspace_id FROM runner_jobs j
          WHERE j.pool = $4 AND ${J_DISPATCHABLE} AND j.workspace_id > ws.workspace_id
          ORDER BY j.workspace_id LIMIT 1)
  FROM ws WHERE ws.workspace_id IS NOT NULL
),
held AS (
  SELECT pool = $4 AS here, workspace_id, worker_id, status, count(*)::int AS n FROM (
    SELECT pool, workspace_id, worker_id, status FROM runner_jobs WHERE status = 'RUNNING'
    UNION ALL
    SELECT pool, workspace_id, worker_id, status FROM runner_jobs WHERE status = 'QUEUED' AND dispatched_at IS NOT NULL
  ) h
  GROUP BY pool = $4, workspace_id, worker_id, status
),
busy AS (
  SELECT workspace_id, (sum(n) FILTER (WHERE here))::int AS n, sum(n)::int AS everywhere FROM held GROUP BY workspace_id
),
credit AS (
  SELECT CASE WHEN $8::jsonb IS NULL THEN $5::int ELSE GREATEST(0,
    COALESCE((SELECT sum(GREATEST(0, w.slots - GREATEST(w.busy, COALESCE(r.n, 0) - COALESCE(w.express, 0) - (
        SELECT count(*)::int FROM unnest(w.express_ids, w.express_attempts) AS e(id, attempt)
        JOIN runner_jobs x ON x.id = e.id AND x.attempt = e.attempt AND x.status = 'RUNNING' AND x.worker_id = w.worker_id))))::int
      FROM jsonb_to_recordset($8::jsonb) AS w(worker_id text, slots int, busy int, express int, express_ids uuid[], express_attempts int[])
      LEFT JOIN (SELECT worker_id, sum(n)::int AS n FROM held WHERE here AND status = 'RUNNING' GROUP BY worker_id) r
        USING (worker_id)), 0)
    - COALESCE((SELECT sum(n)::int FROM held WHERE here AND status = 'QUEUED'), 0)) END AS n
),
room AS (
  SELECT ws.workspace_id, LEAST($5::int, (SELECT n FROM credit),
    COALESCE((SELECT w.max_running_jobs FROM workspaces w WHERE w.id = ws.workspace_id), $6::int) - COALESCE(b.everywhere, 0)) AS n
  FROM ws
  LEFT JOIN busy b ON b.workspace_id = ws.workspace_id
  WHERE ws.workspace_id IS NOT NULL
),
heads AS (
  SELECT h.* FROM room r, LATERAL (
    (SELECT j.id, j.workspace_id, j.priority, j.queued_at, GREATEST(j.queued_at, j.run_at) AS runnable_at FROM runner_jobs j
      WHERE j.pool = $4 AND j.workspace_id = r.workspace_id AND j.status = 'QUEUED' AND j.dispatched_at IS NULL
        AND (j.run_at IS NULL OR j.run_at <= now()) AND j.cancel_requested_at IS NULL${express ? ' AND j.priority >= $9::int' : ''}
      ORDER BY j.priority DESC, j.queued_at, j.id LIMIT r.n)${express ? '' : `
    UNION
    (SELECT j.id, j.workspace_id, j.priority, j.queued_at, GREATEST(j.queued_at, j.run_at) AS runnable_at FROM runner_jobs j
      WHERE j.pool = $4 AND j.workspace_id = r.workspace_id AND j.status = 'QUEUED' AND j.dispatched_at IS NULL
        AND (j.run_at IS NULL OR j.run_at <= now()) AND j.cancel_requested_at IS NULL
      ORDER BY GREATEST(j.queued_at, j.run_at), j.id LIMIT r.n)`}
  ) h
  WHERE r.n > 0
),
ordered AS (
  SELECT x.*, row_number() OVER (PARTITION BY x.workspace_id ORDER BY x.effective DESC, x.queued_at, x.id) AS turn
  FROM (
    SELECT id, workspace_id, queued_at,
      LEAST(${Priority.max}, priority + CASE WHEN $7::int > 0
        THEN GREATEST(0, floor(extract(epoch FROM now() - min(runnable_at) OVER (PARTITION BY priority)) / $7::int))::int ELSE 0 END) AS effective
    FROM heads
  ) x
),
eligible AS (
  SELECT o.id, o.effective, o.queued_at, o.turn + COALESCE(b.n, 0) AS turn
  FROM ordered o JOIN room r ON r.workspace_id = o.workspace_id LEFT JOIN busy b ON b.workspace_id = o.workspace_id
  WHERE o.turn <= r.n
  ORDER BY o.effective DESC, o.turn + COALESCE(b.n, 0), o.queued_at, o.id
  LIMIT LEAST($5::int, (SELECT n FROM credit))
),
locked AS (
  SELECT l.id, l.status, l.dispatched_at, l.cancel_requested_at, e.effective, e.turn, e.queued_at
  FROM eligible e
  CROSS JOIN LATERAL (SELECT j.id, j.status, j.dispatched_at, j.cancel_requested_at FROM runner_jobs j WHERE j.id = e.id FOR UPDATE OF j SKIP LOCKED) l
),
claim AS (
  SELECT c.id, c.effective, c.turn, c.queued_at FROM locked c
  WHERE c.status = 'QUEUED' AND c.dispatched_at IS NULL AND c.cancel_requested_at IS NULL AND ${LEASE_HELD_SQL}
),
claimed AS (
  UPDATE runner_jobs j SET dispatched_at = now(), version = j.version + 1, updated_at = now()
  FROM claim c WHERE j.id = c.id
  RETURNING j.id, j.workspace_id, j.attempt, j.priority, j.queued_at, GREATEST(j.queued_at, j.run_at) AS runnable_at, c.effective, c.turn
)
-- One row at least, so that the credit comes back when nothing was claimed.
SELECT (SELECT n FROM credit) AS credit, c.* FROM (SELECT 1) AS one LEFT JOIN claimed c ON true`;
}

export const CLAIM_SQL = claimSql(false);
export const EXPRESS_CLAIM_SQL = claimSql(true);

/** The claim as a named statement: parsed and planned once per connection (≈ 2.5 ms a round saved). */
const CLAIM = statement('gantry_claim', CLAIM_SQL);
const EXPRESS_CLAIM = statement('gantry_express_claim', EXPRESS_CLAIM_SQL);

/** One job claimed for dispatch. */
export interface ClaimedJob {
  id: string;
  workspaceId: string;
  attempt: number;
  priority: number;
  queuedAt: Date;
  /** When it became runnable: `queuedAt`, or its `runAt` when that came later (a delay, a retry's backoff). */
  runnableAt: Date;
}

/** A live worker of the pool that is not draining, as its last heartbeat described it. */
export interface FreeWorker {
  readonly workerId: string;
  readonly slots: number;
  readonly busy: number;
  /** Jobs in its express slots by its last beat, but for those in {@link expressSent}; default 0. */
  readonly express?: number;
  /**
   * Attempts the leader sent to its express slots and knows of: those the database shows RUNNING
   * on it are in express slots, which its RUNNING rows include. Counted from the database, not
   * from what was sent or beaten: one that ended since its worker's last beat is no longer
   * running, and counted as an express job it would make an ordinary slot look free.
   */
  readonly expressSent?: readonly { readonly id: string; readonly attempt: number }[];
}

export interface ClaimOptions {
  pool: string;
  /** Jobs to claim at most (the round's batch). */
  limit: number;
  /** Per-workspace running limit when the workspace sets none. */
  defaultWorkspaceLimit: number;
  /** Seconds of waiting per point of aging; 0 turns aging off. */
  agingSecondsPerPoint: number;
  /** The pool's workers whose free slots are the credit; absent, `limit` alone bounds the claim. */
  workers?: readonly FreeWorker[];
  /** Claims only jobs of at least this priority (not effective priority: aging does not count). */
  minPriority?: number;
}

/** What a claim did: the credit it counted (before its own jobs; `limit` without workers) and the jobs it claimed. */
export interface Claim {
  credit: number;
  jobs: ClaimedJob[];
}

/** Counts the pool's credit and claims up to that many jobs in dispatch order; no jobs for a deposed leader. */
export async function claim(db: Pool | PoolClient, lease: Lease, opts: ClaimOptions): Promise<Claim> {
  if (opts.limit <= 0) return { credit: 0, jobs: [] };
  const { rows } = await db.query<{
    credit: number;
    id: string | null;
    workspace_id: string;
    attempt: number;
    priority: number;
    queued_at: Date;
    runnable_at: Date;
    effective: number;
    turn: string;
  }>((opts.minPriority === undefined ? CLAIM : EXPRESS_CLAIM)([
    lease.name,
    lease.holder,
    lease.term,
    opts.pool,
    opts.limit,
    opts.defaultWorkspaceLimit,
    opts.agingSecondsPerPoint,
    opts.workers === undefined ? null : JSON.stringify(opts.workers.map((w) => ({ worker_id: w.workerId, slots: w.slots, busy: w.busy, express: w.express ?? 0, express_ids: (w.expressSent ?? []).map((e) => e.id), express_attempts: (w.expressSent ?? []).map((e) => e.attempt) }))),
    ...(opts.minPriority === undefined ? [] : [opts.minPriority]),
  ]));
  const claimed = rows.filter((r) => r.id !== null);
  claimed.sort(
    (a, b) => b.effective - a.effective || Number(a.turn) - Number(b.turn) || a.queued_at.getTime() - b.queued_at.getTime(),
  );
  return {
    credit: rows[0]?.credit ?? 0,
    jobs: claimed.map((r) => ({ id: r.id!, workspaceId: r.workspace_id, attempt: r.attempt, priority: r.priority, queuedAt: r.queued_at, runnableAt: r.runnable_at })),
  };
}

/**
 * Returns jobs whose dispatch did not reach a worker (its publish failed, or an express worker
 * refused it) to the backlog: each only while it is still QUEUED as the attempt that was
 * dispatched. A job queued again as a later attempt meanwhile, and dispatched again, keeps that
 * dispatch.
 */
export async function unmarkDispatched(pool: Pool, jobs: readonly { readonly id: string; readonly attempt: number }[]): Promise<void> {
  await pool.query(
    `UPDATE runner_jobs j SET dispatched_at = NULL, version = j.version + 1, updated_at = now()
     FROM unnest($1::uuid[], $2::int[]) AS u(id, attempt)
     WHERE j.id = u.id AND j.attempt = u.attempt AND j.status = 'QUEUED' AND j.dispatched_at IS NOT NULL`,
    [jobs.map((j) => j.id), jobs.map((j) => j.attempt)],
  );
}
