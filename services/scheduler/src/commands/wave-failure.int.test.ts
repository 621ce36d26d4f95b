/**
 * A workspace's commands stay in order when handling one of them fails in PostgreSQL. The
 * failed command was put back (delivered again a second later) while the workspace's later
 * commands went on: in the same pass (a later wave), or in the next ones. A retry then a cancel
 * of one job was applied as cancel (a no-op on the FAILED job), then retry: the job the user
 * cancelled ran again. Now a workspace's later commands are put back with it, and wait for it.
 * The failure is real: a trigger of the test's own database raises for one job's retry while a
 * flag row exists; the test removes the flag (so the redelivered retry goes through) and drops
 * the trigger afterwards.
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
  await h.pool.query(`CREATE TABLE fail_retry (job_id uuid PRIMARY KEY)`);
  await h.pool.query(`
    CREATE FUNCTION fail_retry() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF OLD.status IN ('FAILED', 'CANCELLED') AND NEW.status = 'QUEUED'
         AND EXISTS (SELECT 1 FROM fail_retry WHERE job_id = NEW.id) THEN
        RAISE EXCEPTION 'injected failure for job %', NEW.id;
      END IF;
      RETURN NEW;
    END $$`);
  await h.pool.query(`CREATE TRIGGER fail_retry BEFORE UPDATE ON runner_jobs FOR EACH ROW EXECUTE FUNCTION fail_retry()`);
});

afterAll(async () => {
  await h.pool.query('DROP TRIGGER IF EXISTS fail_retry ON runner_jobs');
  await h.pool.query('DROP FUNCTION IF EXISTS fail_retry()');
  await h.pool.query('DROP TABLE IF EXISTS fail_retry');
});

async function outcomes(command: string): Promise<Record<string, number>> {
  const metric = await h.metrics.registry.getSingleMetric(MetricNames.commandsProcessed)!.get();
  return Object.fromEntries(metric.values.filter((v) => v.labels.command === command).map((v) => [String(v.labels.outcome), v.value]));
}
const count = async (command: string, outcome: string) => (await outcomes(command))[outcome] ?? 0;

async function status(id: string): Promise<{ status: string; attempt: number } | undefined> {
  const { rows } = await h.pool.query('SELECT status, attempt FROM runner_jobs WHERE id = $1', [id]);
  return rows[0];
}

describe('a failed wave', () => {
  it('does not let the workspace’s later wave of the same pass go first: retry then cancel ends cancelled', async () => {
    const workspaceId = await createWorkspace(h.pool);
    const token = await createToken(h.pool, workspaceId);
    const [target] = await createJobs(h.pool, workspaceId, 1);
    await h.pool.query(`UPDATE runner_jobs SET status = 'FAILED', failures = 1 WHERE id = $1`, [target!.id]);
    await h.pool.query('INSERT INTO fail_retry VALUES ($1)', [target!.id]);
    const [retriedBefore, cancelsBefore] = [await count('retry', 'retried'), (await count('cancel', 'noop')) + (await count('cancel', 'applied'))];
    const send = (kind: 'cancel' | 'retry') =>
      publishCommand(h.ns, kind, { v: 1, kind, id: randomUUID(), workspaceId, jobId: target!.id }, { [Headers.token]: token });
    // The user retries the job, then cancels it: both taken in one pass (waves: retry, cancel).
    await inOnePass(h, 2, async () => {
      await send('retry');
      await send('cancel');
    });
    await waitFor(async () => (await count('retry', 'retried')) > retriedBefore, 10_000, 'the retry failed once');
    // The failure was transient: it is gone by the time the retry is delivered again.
    await h.pool.query('DELETE FROM fail_retry WHERE job_id = $1', [target!.id]);
    await waitFor(async () => (await count('retry', 'applied')) > 0 || (await count('retry', 'noop')) > 0, 15_000, 'the retry redelivered and handled');
    await waitFor(async () => (await h.ns.jsm.consumers.info(h.ns.names.streams.commands, h.ns.names.consumers.scheduler)).num_ack_pending === 0, 15_000, 'all settled');
    const cancelsHandled = (await count('cancel', 'noop')) + (await count('cancel', 'applied')) - cancelsBefore;
    // Retry then cancel, as sent: the job was retried and its new attempt cancelled.
    expect({ job: await status(target!.id), cancelOutcomes: await outcomes('cancel'), cancelsHandled }).toEqual({
      job: { status: 'CANCELLED', attempt: 2 },
      cancelOutcomes: { retried: 1, applied: 1 },
      cancelsHandled: 1,
    });
  }, 60_000);

  it('does not let the workspace’s next command, in a later pass, overtake the nak’ed one', async () => {
    const workspaceId = await createWorkspace(h.pool);
    const token = await createToken(h.pool, workspaceId);
    const [target] = await createJobs(h.pool, workspaceId, 1);
    await h.pool.query(`UPDATE runner_jobs SET status = 'FAILED', failures = 1 WHERE id = $1`, [target!.id]);
    await h.pool.query('INSERT INTO fail_retry VALUES ($1)', [target!.id]);
    const retriedBefore = await count('retry', 'retried');
    const appliedBefore = await count('retry', 'applied');
    const send = (kind: 'cancel' | 'retry') =>
      publishCommand(h.ns, kind, { v: 1, kind, id: randomUUID(), workspaceId, jobId: target!.id }, { [Headers.token]: token });
    await send('retry');
    await waitFor(async () => (await count('retry', 'retried')) > retriedBefore, 10_000, 'the retry failed once');
    // The cancel the user sent after the retry.
    await send('cancel');
    await new Promise((r) => setTimeout(r, 300));
    await h.pool.query('DELETE FROM fail_retry WHERE job_id = $1', [target!.id]);
    await waitFor(async () => (await count('retry', 'applied')) > appliedBefore, 15_000, 'the retry redelivered and applied');
    await waitFor(async () => (await h.ns.jsm.consumers.info(h.ns.names.streams.commands, h.ns.names.consumers.scheduler)).num_ack_pending === 0, 15_000, 'all settled');
    expect(await status(target!.id)).toEqual({ status: 'CANCELLED', attempt: 2 });
  }, 60_000);
});
