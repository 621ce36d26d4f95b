/**
 * A flush in autocommit is the wave statement and, when a replay in it was refused, a second
 * statement for that replay. The first statement has committed its other writes by then; when
 * the second statement failed (a sequence conflict with a concurrent append, or an error), the
 * writer re-ran the whole batch (the conflict retry) or each write alone (the bad-write
 * fallback), and so applied again writes that had committed. Now only the replay is asked again.
 *
 * The scenario is the scheduler's: a cancel of a job it saw RUNNING is a replay (row 11); the
 * job is still QUEUED when the wave runs (refused), and a worker's claim (QUEUED → RUNNING at
 * the same attempt, with its `job.started` event) lands between the two statements, holding the
 * job's lock while the replay's second statement waits for it. The claim is made by a side
 * connection at that moment (found by the statement's name), as another process would.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { QueryConfig } from 'pg';
import { createJobs, createWorkspace, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool, withTransaction } from '../db/pool.js';
import { uuidv7 } from '../ids.js';
import { applyWrites } from './apply-writes.js';
import type { JobWrite, WriteResult } from './job-write.js';
import { JobWriter } from './job-writer.js';

const db = useTestDatabase();
let pool: Pool;
let side: Pool;
let workspaceId: string;

beforeAll(async () => {
  pool = createPool(db.url, { max: 4, applicationName: 'replay-rerun' });
  side = createPool(db.url, { max: 2, applicationName: 'replay-rerun-side' });
  workspaceId = await createWorkspace(pool);
});
afterAll(async () => {
  await side.end();
  await pool.end();
});

function start(jobId: string): JobWrite {
  return {
    jobId,
    attempt: 1,
    expect: ['QUEUED'],
    to: 'RUNNING',
    set: { workerId: 'w1', startedAt: 'now' },
    events: [{ type: 'job.started', actor: 'worker:w1', payload: { attempt: 1, workerId: 'w1' } }],
  };
}

async function waitForLockWait(): Promise<void> {
  for (const deadline = Date.now() + 10_000; ; ) {
    const { rows } = await side.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`,
    );
    if (rows[0]!.n > 0) return;
    if (Date.now() > deadline) throw new Error('the second statement never waited for the claim’s lock');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('JobWriter, a refused replay re-asked in a statement of its own', () => {
  it('never applies again the writes its first statement committed when the re-ask collides with a concurrent append', async () => {
    const [running, finishing, queued] = await createJobs(pool, workspaceId, 3);
    await withTransaction(pool, (c) => applyWrites(c, [start(running!.id), start(finishing!.id)]));

    // Runs every query of the writer on the real pool; before the writer's second wave statement
    // of the flush, a worker's claim of `queued` takes the job's lock and appends its event.
    let waves = 0;
    const instrumented = new Proxy(pool, {
      get(target, prop, receiver) {
        if (prop !== 'query') return Reflect.get(target, prop, receiver);
        return async (config: QueryConfig) => {
          if (typeof config === 'object' && config.name?.startsWith('gantry_wave') && ++waves === 2) {
            const claim = await side.connect();
            try {
              await claim.query('BEGIN');
              const [claimed] = await applyWrites(claim, [start(queued!.id)]);
              expect(claimed!.applied).toBe(true);
              const second = target.query(config);
              // It may fail (the collision) before this awaits it, while the COMMIT's answer is
              // still on its way: handled here, and still rethrown to the writer below.
              second.catch(() => undefined);
              await waitForLockWait();
              await claim.query('COMMIT');
              return await second;
            } finally {
              claim.release();
            }
          }
          return target.query(config);
        };
      },
    }) as Pool;

    const committed: WriteResult[] = [];
    const writer = new JobWriter({ pool: instrumented, onCommit: (r) => committed.push(...r) });
    const progress: JobWrite = {
      jobId: running!.id,
      attempt: 1,
      expect: ['RUNNING'],
      set: { progress: 40 },
      events: [{ type: 'job.progress', actor: 'worker:w1', payload: { progress: 40, completedSteps: 1, totalSteps: 3 } }],
    };
    const complete: JobWrite = {
      jobId: finishing!.id,
      attempt: 1,
      expect: ['RUNNING'],
      to: 'COMPLETED',
      set: { completedAt: 'now' },
      events: [{ type: 'job.completed', actor: 'worker:w1', payload: { durationMs: 1, result: null } }],
    };
    // The scheduler's record of a cancel (services/scheduler/src/jobs/writes.ts, requestCancel).
    const cancel: JobWrite = {
      jobId: queued!.id,
      attempt: 1,
      expect: ['RUNNING'],
      set: { cancelRequestedAt: 'now' },
      events: [{ id: uuidv7(), type: 'job.cancel_requested', actor: 'scheduler', payload: { reason: null } }],
      replay: true,
    };
    const results = await Promise.all([writer.write(progress), writer.write(complete), writer.write(cancel)]);
    await writer.stop();
    expect(waves).toBeGreaterThanOrEqual(2);

    // The progress write was sent once: one job.progress event.
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM job_events WHERE job_id = $1 AND type = 'job.progress'`,
      [running!.id],
    );
    expect.soft(rows[0]!.n).toBe(1);
    // The completion committed (the job is COMPLETED with its event): its caller must hear so.
    const { rows: done } = await pool.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [finishing!.id]);
    expect(done[0]!.status).toBe('COMPLETED');
    expect.soft(results[1]).toMatchObject({ applied: true, status: 'COMPLETED' });
    expect(results[2]).toMatchObject({ applied: true });
  });
});
