/**
 * A workspace's commands stay in order when handling one of them fails in PostgreSQL. The
 * failed command was put back (delivered again a second later) while the workspace's later
 * commands went on: in the same pass (a later wave), or in the next ones. A retry then a cancel
 * of one job was applied as cancel (a no-op on the FAILED job), then retry: the job the user
 * cancelled ran again. Now a workspace's later commands wait for it: those of the same pass in the
 * scheduler's queue, still held (not put back, which would spend their own deliveries).
 * The failure is real: a trigger of the test's own database raises for one job's retry while a
 * flag row exists; the test removes the flag (so the redelivered retry goes through) and drops
 * the trigger afterwards.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Headers } from '@gantry/contracts';
import { createJobs, createToken, createWorkspace } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { commandOutcomes, type FailingUpdates, failingUpdates, inOnePass, jobStatus } from '../testing/commands.js';
import { publishCommand, waitFor } from '../testing/harness.js';

const h = useScheduler();
let retries: FailingUpdates;

beforeAll(async () => {
  retries = await failingUpdates(h.pool, 'fail_retry', `OLD.status IN ('FAILED', 'CANCELLED') AND NEW.status = 'QUEUED'`);
});
afterAll(async () => {
  await retries?.drop();
});

const count = async (command: string, outcome: string) => (await commandOutcomes(h, command))[outcome] ?? 0;
const settled = () => waitFor(async () => (await h.ns.jsm.consumers.info(h.ns.names.streams.commands, h.ns.names.consumers.scheduler)).num_ack_pending === 0, 15_000, 'all settled');

/** A FAILED job whose retries fail until healed, and a sender of commands for it. */
async function failedJob() {
  const workspaceId = await createWorkspace(h.pool);
  const token = await createToken(h.pool, workspaceId);
  const [target] = await createJobs(h.pool, workspaceId, 1);
  await h.pool.query(`UPDATE runner_jobs SET status = 'FAILED', failures = 1 WHERE id = $1`, [target!.id]);
  await retries.fail(target!.id);
  /** Sends a command; `as` spells its workspace id (a UUID in any case is the same workspace). */
  const send = (kind: 'cancel' | 'retry', as = workspaceId) => publishCommand(h.ns, kind, { v: 1, kind, id: randomUUID(), workspaceId: as, jobId: target!.id }, { [Headers.token]: token });
  return { id: target!.id, workspaceId, send };
}

describe('a failed wave', () => {
  it('does not let the workspace’s later wave of the same pass go first: retry then cancel ends cancelled', async () => {
    const job = await failedJob();
    const [retriedBefore, cancelsBefore] = [await count('retry', 'retried'), (await count('cancel', 'noop')) + (await count('cancel', 'applied'))];
    const cancelOutcomesBefore = await commandOutcomes(h, 'cancel');
    // The user retries the job, then cancels it: both taken in one pass (waves: retry, cancel).
    await inOnePass(h, 2, async () => {
      await job.send('retry');
      await job.send('cancel');
    });
    await waitFor(async () => (await count('retry', 'retried')) > retriedBefore, 10_000, 'the retry failed once');
    // The failure was transient: it is gone by the time the retry is delivered again.
    await retries.heal(job.id);
    await waitFor(async () => (await count('retry', 'applied')) > 0 || (await count('retry', 'noop')) > 0, 15_000, 'the retry redelivered and handled');
    await settled();
    const cancelsHandled = (await count('cancel', 'noop')) + (await count('cancel', 'applied')) - cancelsBefore;
    const cancelOutcomes = Object.fromEntries(Object.entries(await commandOutcomes(h, 'cancel')).map(([k, v]) => [k, v - (cancelOutcomesBefore[k] ?? 0)]));
    // Retry then cancel, as sent: the job was retried and its new attempt cancelled. The cancel
    // waited in the queue for the retry, never put back itself (which would spend its deliveries).
    expect({ job: await jobStatus(h.pool, job.id), cancelOutcomes, cancelsHandled }).toEqual({
      job: { status: 'CANCELLED', attempt: 2 },
      cancelOutcomes: { applied: 1 },
      cancelsHandled: 1,
    });
  }, 60_000);

  it.each([
    ['', (id: string) => id],
    [', its workspace id in upper case', (id: string) => id.toUpperCase()],
  ])('does not let the workspace’s next command, in a later pass, overtake the put-back one%s', async (_, spelt) => {
    const job = await failedJob();
    const retriedBefore = await count('retry', 'retried');
    const appliedBefore = await count('retry', 'applied');
    await job.send('retry', spelt(job.workspaceId));
    await waitFor(async () => (await count('retry', 'retried')) > retriedBefore, 10_000, 'the retry failed once');
    // The cancel the user sent after the retry.
    await job.send('cancel', spelt(job.workspaceId));
    await new Promise((r) => setTimeout(r, 300));
    await retries.heal(job.id);
    await waitFor(async () => (await count('retry', 'applied')) > appliedBefore, 15_000, 'the retry redelivered and applied');
    await settled();
    expect(await jobStatus(h.pool, job.id)).toEqual({ status: 'CANCELLED', attempt: 2 });
  }, 60_000);
});
