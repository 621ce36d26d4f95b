/**
 * A leader that steps down while passes of its run (deposed: its lease ran out, and another
 * replica leads) hands the commands it holds for later passes back to the server at once, for
 * the new leader, rather than holding them until its last pass ends while the new leader
 * handles newer commands of the same workspaces; only those of the workspaces whose passes
 * still run wait for them. A command that waits for a put-back one of its workspace goes back
 * just after that one is due, so that the next leader receives them in order.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Headers, type JobSpecInput, MetricNames } from '@gantry/contracts';
import { createJobs, createTestNamespace, createToken, createWorkspace, type TestNamespace, useTestDatabase } from '@gantry/testkit';
import { failingUpdates, jobStatus } from '../testing/commands.js';
import { type Harness, publishCommand, startScheduler, waitFor } from '../testing/harness.js';
import { MAX_PASSES } from './consumer.js';

const db = useTestDatabase();
let ns: TestNamespace;
let first: Harness;
let second: Harness;

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  first = await startScheduler(db.url, ns);
  second = await startScheduler(db.url, ns, {}, { standby: true });
});
afterAll(async () => {
  await second?.stop();
  await first?.stop();
  await ns?.cleanup();
});

const job: JobSpecInput = { type: 'step-down', steps: [{ name: 'only', phase: 'EXECUTION', type: 'NOOP' }] };

/** The replica that leads now, and the other. */
function roles(): [Harness, Harness] {
  return first.scheduler.leadership.lease !== null ? [first, second] : [second, first];
}

/** Ends the leader's lease under it (a pause longer than the lease) and waits for the other replica to lead. */
async function depose(leader: Harness, standby: Harness): Promise<void> {
  await leader.pool.query('UPDATE scheduler_leases SET expires_at = now()');
  await waitFor(() => standby.scheduler.leadership.lease !== null && leader.scheduler.leadership.lease === null, 5_000, 'the standby leading');
}

/** How many `command`s a replica counted with `outcome`. */
async function counted(h: Harness, command: string, outcome: string): Promise<number> {
  const metric = await h.metrics.registry.getSingleMetric(MetricNames.commandsProcessed)!.get();
  return metric.values.find((v) => v.labels.command === command && v.labels.outcome === outcome)?.value ?? 0;
}

describe('a leader deposed while its passes run', () => {
  it('gives its queued commands to the next leader at once, and those of a running pass’s workspace after it', async () => {
    const pool = first.pool;
    const exists = async (id: string) => (await pool.query('SELECT 1 FROM runner_jobs WHERE id = $1', [id])).rowCount === 1;
    const lockWaits = async () => (await pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).rowCount!;
    const workspaces = await Promise.all(Array.from({ length: MAX_PASSES + 1 }, () => createWorkspace(pool)));
    const tokens = await Promise.all(workspaces.map((w) => createToken(pool, w)));
    const submit = (i: number, jobId: string) =>
      publishCommand(ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId: workspaces[i], jobs: [{ jobId, job }] }, { [Headers.token]: tokens[i]! });
    const jobs = workspaces.map(() => randomUUID());
    const later = randomUUID();
    let released = Infinity;
    // Every pass the leader may run at once waits on a lock of its workspace's row (its job's
    // foreign key); the last workspace's command waits in the leader's queue for a pass.
    const blockers = await Promise.all(workspaces.slice(0, MAX_PASSES).map(() => pool.connect()));
    try {
      for (const [i, blocker] of blockers.entries()) {
        await blocker.query('BEGIN');
        await blocker.query('SELECT id FROM workspaces WHERE id = $1 FOR UPDATE', [workspaces[i]]);
        await submit(i, jobs[i]!);
      }
      await waitFor(async () => (await lockWaits()) === MAX_PASSES, 5_000, 'the passes waiting on their locks');
      // A later command of a blocked workspace, queued behind its running pass.
      await submit(0, later);
      const queuedLast = workspaces.length - 1;
      await submit(queuedLast, jobs[queuedLast]!);
      await waitFor(async () => {
        const info = await ns.jsm.consumers.info(ns.names.streams.commands, ns.names.consumers.scheduler);
        return info.num_pending === 0 && info.num_ack_pending === MAX_PASSES + 2;
      }, 5_000, 'every command delivered to the leader');
      expect(await exists(jobs[queuedLast]!)).toBe(false);

      await depose(first, second);
      // The queued command reaches the new leader while the deposed one's passes still wait.
      await waitFor(() => exists(jobs[queuedLast]!), 10_000, 'the queued command handled by the new leader');
      expect(await lockWaits()).toBe(MAX_PASSES);
      expect(await exists(later)).toBe(false);
    } finally {
      released = (await pool.query<{ at: Date }>('SELECT clock_timestamp() AS at')).rows[0]!.at.getTime();
      for (const blocker of blockers) {
        await blocker.query('COMMIT');
        blocker.release();
      }
    }
    // The deposed leader's passes end; the command behind the first goes to the new leader after it.
    for (const id of [...jobs, later]) await waitFor(() => exists(id), 10_000, `job ${id}`);
    const { rows } = await pool.query<{ created_at: Date }>('SELECT created_at FROM runner_jobs WHERE id = $1', [later]);
    expect(rows[0]!.created_at.getTime()).toBeGreaterThanOrEqual(released);
  });

  it('gives back a command that waits for a put-back one of its workspace after that one: retry then cancel ends cancelled', async () => {
    const [leader, standby] = roles();
    const pool = leader.pool;
    // The retry's write fails in PostgreSQL until healed: the leader puts it back (due again in 1 s).
    const retries = await failingUpdates(pool, 'fail_step_down_retry', `OLD.status IN ('FAILED', 'CANCELLED') AND NEW.status = 'QUEUED'`);
    try {
      const workspaceId = await createWorkspace(pool);
      const token = await createToken(pool, workspaceId);
      const [target] = await createJobs(pool, workspaceId, 1);
      await pool.query(`UPDATE runner_jobs SET status = 'FAILED', failures = 1 WHERE id = $1`, [target!.id]);
      await retries.fail(target!.id);
      const send = (kind: 'retry' | 'cancel') =>
        publishCommand(ns, kind, { v: 1, kind, id: randomUUID(), workspaceId, jobId: target!.id }, { [Headers.token]: token });
      const retriedBefore = await counted(leader, 'retry', 'retried');
      await send('retry');
      await waitFor(async () => (await counted(leader, 'retry', 'retried')) > retriedBefore, 10_000, 'the retry put back');
      // The user's cancel, after the retry: the leader holds it behind the put-back retry.
      await send('cancel');
      await waitFor(async () => (await ns.jsm.consumers.info(ns.names.streams.commands, ns.names.consumers.scheduler)).num_pending === 0, 5_000, 'the cancel delivered');
      await depose(leader, standby);
      await retries.heal(target!.id);
      await waitFor(async () => (await ns.jsm.consumers.info(ns.names.streams.commands, ns.names.consumers.scheduler)).num_ack_pending === 0, 15_000, 'both handled');
      // Retry, then cancel, as sent: the retried attempt is cancelled.
      expect(await jobStatus(pool, target!.id)).toEqual({ status: 'CANCELLED', attempt: 2 });
    } finally {
      await retries.drop();
    }
  }, 30_000);
});
