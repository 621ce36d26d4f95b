/**
 * A cancel that committed was applied again when its group's handler failed for another job of
 * the group: the whole group was put back, the committed cancel with it, and its redelivery
 * cancelled the job again after the user had retried it. Each command of a group is now settled
 * on its own. The failure is real: a trigger of the test's own database raises on one job's
 * cancel while a flag row exists; the test removes the flag and drops the trigger after.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Headers, MetricNames } from '@gantry/contracts';
import { createJobs, createToken, createWorkspace } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { inOnePass } from '../testing/commands.js';
import { publishCommand, waitFor } from '../testing/harness.js';

const h = useScheduler();

beforeAll(async () => {
  await h.pool.query(`CREATE TABLE fail_cancel (job_id uuid PRIMARY KEY)`);
  await h.pool.query(`
    CREATE FUNCTION fail_cancel() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF NEW.status = 'CANCELLED' AND EXISTS (SELECT 1 FROM fail_cancel WHERE job_id = NEW.id) THEN
        RAISE EXCEPTION 'injected failure for job %', NEW.id;
      END IF;
      RETURN NEW;
    END $$`);
  await h.pool.query(`CREATE TRIGGER fail_cancel BEFORE UPDATE ON runner_jobs FOR EACH ROW EXECUTE FUNCTION fail_cancel()`);
});

afterAll(async () => {
  await h.pool.query('DROP TRIGGER IF EXISTS fail_cancel ON runner_jobs');
  await h.pool.query('DROP FUNCTION IF EXISTS fail_cancel()');
  await h.pool.query('DROP TABLE IF EXISTS fail_cancel');
});

async function count(command: string, outcome: string): Promise<number> {
  const metric = await h.metrics.registry.getSingleMetric(MetricNames.commandsProcessed)!.get();
  return metric.values.filter((v) => v.labels.command === command && v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
}

async function status(id: string): Promise<{ status: string; attempt: number } | undefined> {
  const { rows } = await h.pool.query('SELECT status, attempt FROM runner_jobs WHERE id = $1', [id]);
  return rows[0];
}

async function eventTypes(id: string): Promise<string[]> {
  const { rows } = await h.pool.query('SELECT type FROM job_events WHERE job_id = $1 ORDER BY sequence', [id]);
  return rows.map((r) => r.type);
}

describe('a cancel group that failed for one of its jobs', () => {
  it('does not cancel again the job whose cancel committed, after the workspace retried it', async () => {
    const workspaceId = await createWorkspace(h.pool);
    const token = await createToken(h.pool, workspaceId);
    const [first, second] = await createJobs(h.pool, workspaceId, 2);
    await h.pool.query('INSERT INTO fail_cancel VALUES ($1)', [second!.id]);
    const send = (kind: 'cancel' | 'retry', jobId: string) =>
      publishCommand(h.ns, kind, { v: 1, kind, id: randomUUID(), workspaceId, jobId }, { [Headers.token]: token });
    // One pass cancels both: `first`'s cancel commits, `second`'s fails, and the call fails.
    await inOnePass(h, 2, async () => {
      await send('cancel', first!.id);
      await send('cancel', second!.id);
    });
    await waitFor(async () => (await status(first!.id))?.status === 'CANCELLED' && (await count('cancel', 'retried')) >= 1, 10_000, 'the first cancel committed, the second put back');
    // The user then retries the cancelled job: queued again as attempt 2, once the workspace's
    // put-back cancel, which came first, is handled.
    await send('retry', first!.id);
    // The other job's trouble passes; its cancel goes through on a redelivery.
    await h.pool.query('DELETE FROM fail_cancel WHERE job_id = $1', [second!.id]);
    await waitFor(async () => (await status(second!.id))?.status === 'CANCELLED', 20_000, 'the second cancel applied');
    await waitFor(async () => (await status(first!.id))?.status === 'QUEUED', 10_000, 'the retry applied');
    await waitFor(async () => (await h.ns.jsm.consumers.info(h.ns.names.streams.commands, h.ns.names.consumers.scheduler)).num_ack_pending === 0, 15_000, 'all settled');
    expect({ first: await status(first!.id), events: await eventTypes(first!.id) }).toEqual({
      first: { status: 'QUEUED', attempt: 2 },
      events: ['job.created', 'job.queued', 'job.cancelled', 'job.queued'],
    });
  }, 60_000);
});
