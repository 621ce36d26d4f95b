/**
 * The end of every fault scenario: load the accepted jobs' rows, run the checker over them,
 * measure the recovery, and print one line of figures (`[faults] {…}`) that shows in the test
 * output and is what `docs/guarantees.md` records.
 */
import type { Pool } from '@gantry/store';
import { checkHistories, type CheckResult, type EventRow, type JobRow } from './checker.js';

/** Reads the rows of `accepted` jobs and checks them (see {@link checkHistories}). */
export async function checkRun(pool: Pool, accepted: readonly string[]): Promise<CheckResult> {
  const jobs = await pool.query<JobRow>(`SELECT id, status, attempt FROM runner_jobs WHERE id = ANY($1::uuid[])`, [accepted]);
  const events = await pool.query<EventRow>(
    `SELECT job_id AS "jobId", sequence, type, attempt, step_id AS "stepId", actor, payload
     FROM job_events WHERE job_id = ANY($1::uuid[]) ORDER BY job_id, sequence`,
    [accepted],
  );
  return checkHistories(accepted, jobs.rows, events.rows);
}

/** Ids of the jobs of `among` that are RUNNING now, optionally only those a worker holds. */
export async function runningJobs(pool: Pool, among: readonly string[], workerId?: string): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(
    `SELECT id FROM runner_jobs WHERE id = ANY($1::uuid[]) AND status = 'RUNNING' AND ($2::text IS NULL OR worker_id = $2)`,
    [among, workerId ?? null],
  );
  return rows.map((r) => r.id);
}

/** Jobs of `among` in a terminal status now. */
export async function terminalCount(pool: Pool, among: readonly string[]): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM runner_jobs WHERE id = ANY($1::uuid[]) AND status IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
    [among],
  );
  return rows[0]!.n;
}

/**
 * Milliseconds from `faultAt` until the last of `affected` jobs wrote its terminal event (0 when
 * none was affected): how long the cluster took to finish the work the fault interrupted.
 */
export async function recoveryMs(pool: Pool, affected: readonly string[], faultAt: number): Promise<number> {
  if (affected.length === 0) return 0;
  const { rows } = await pool.query<{ last: Date | null }>(
    `SELECT max(created_at) AS last FROM job_events
     WHERE job_id = ANY($1::uuid[]) AND type IN ('job.completed', 'job.failed', 'job.cancelled')`,
    [affected],
  );
  const last = rows[0]?.last?.getTime();
  return last === undefined ? Number.NaN : Math.max(0, last - faultAt);
}

/**
 * Milliseconds from `faultAt` until the first attempt of `among` started after it (a worker
 * claimed a job again): how long dispatching stalled. NaN when none started after the fault.
 */
export async function dispatchGapMs(pool: Pool, among: readonly string[], faultAt: number): Promise<number> {
  const { rows } = await pool.query<{ first: Date | null }>(
    `SELECT min(created_at) AS first FROM job_events WHERE job_id = ANY($1::uuid[]) AND type = 'job.started' AND created_at > $2`,
    [among, new Date(faultAt)],
  );
  const first = rows[0]?.first?.getTime();
  return first === undefined ? Number.NaN : first - faultAt;
}

/** The figures of one scenario run, as printed and recorded. */
export interface FaultFigures {
  readonly scenario: string;
  readonly jobs: number;
  readonly faults: number;
  /** Attempts queued again (re-runs), all reasons. */
  readonly reruns: number;
  readonly rerunReasons: Readonly<Record<string, number>>;
  /** Attempts claimed by a worker beyond one per job. */
  readonly restartedAttempts: number;
  /** Jobs the fault interrupted (RUNNING or accepted-but-unqueued when it struck). */
  readonly affected: number;
  readonly recoveryMs: number;
  /** From the fault until a worker next started an attempt. */
  readonly dispatchGapMs: number;
  /** From the first submit until every job had ended. */
  readonly totalMs: number;
  readonly statuses: Readonly<Record<string, number>>;
  readonly violations: number;
  readonly [more: string]: unknown;
}

/** Builds the figures of a run from its check and its measurements. */
export function figuresOf(
  scenario: string,
  check: CheckResult,
  m: { faults: number; affected: number; recoveryMs: number; dispatchGapMs: number; totalMs: number; [more: string]: unknown },
): FaultFigures {
  const reruns = Object.values(check.reruns).reduce((a, b) => a + b, 0);
  return {
    scenario,
    jobs: check.jobs,
    reruns,
    rerunReasons: check.reruns,
    restartedAttempts: check.restartedAttempts,
    statuses: check.statuses,
    violations: check.violations.length,
    ...m,
  };
}

/** Prints `[faults] {json}` on its own line (the test output shows it next to the test). */
export function printFigures(figures: FaultFigures): void {
  process.stdout.write(`[faults] ${JSON.stringify(figures)}\n`);
}
