/**
 * Dispatch credit: how many more jobs each pool can start now. A live worker that is not
 * draining offers its slots minus the jobs it holds (the larger of what its last heartbeat said
 * and what the database records, so a claim made after the beat still counts); a pool's credit
 * is the sum of its workers' free slots minus the jobs already dispatched but not yet claimed.
 * Jobs wait in PostgreSQL, where priority can still reorder them, not in the dispatch stream.
 */
import { type Pool, statement } from '@gantry/store';
import type { WorkerView } from '../workers/registry.js';

const HELD = statement('gantry_held', `
SELECT pool, worker_id, status, count(*)::int AS n FROM runner_jobs
WHERE status = 'RUNNING' OR (status = 'QUEUED' AND dispatched_at IS NOT NULL)
GROUP BY pool, worker_id, status`);

/** Credit per pool, for pools with at least one live worker. */
export async function poolCredits(pool: Pool, workers: readonly WorkerView[]): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ pool: string; worker_id: string | null; status: string; n: number }>(HELD([]));
  const runningByWorker = new Map<string, number>();
  const unclaimedByPool = new Map<string, number>();
  for (const r of rows) {
    if (r.status === 'RUNNING' && r.worker_id) runningByWorker.set(r.worker_id, r.n);
    if (r.status === 'QUEUED') unclaimedByPool.set(r.pool, (unclaimedByPool.get(r.pool) ?? 0) + r.n);
  }
  const credits = new Map<string, number>();
  for (const w of workers) {
    const free = w.draining ? 0 : Math.max(0, w.slots - Math.max(w.busy, runningByWorker.get(w.workerId) ?? 0));
    credits.set(w.pool, (credits.get(w.pool) ?? 0) + free);
  }
  for (const [p, credit] of credits) credits.set(p, Math.max(0, credit - (unclaimedByPool.get(p) ?? 0)));
  return credits;
}
