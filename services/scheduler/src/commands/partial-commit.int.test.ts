/**
 * A cancel that committed was applied again when its group's handler failed for another job of
 * the group: the whole group was put back, the committed cancel with it, and its redelivery
 * cancelled the job again after the user had retried it. Each command of a group is now settled
 * on its own. The failure is real: a trigger of the test's own database raises on one job's
 * cancel while a flag row exists; the test removes the flag and drops the trigger after.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Headers } from '@gantry/contracts';
import { createJobs, createToken, createWorkspace } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { commandOutcomes, eventTypes, type FailingUpdates, failingUpdates, inOnePass, jobStatus } from '../testing/commands.js';
import { publishCommand, waitFor } from '../testing/harness.js';

const h = useScheduler();
let cancels: FailingUpdates;

beforeAll(async () => {
  cancels = await failingUpdates(h.pool, 'fail_cancel', `NEW.status = 'CANCELLED'`);
});
afterAll(async () => {
  await cancels?.drop();
});

describe('a cancel group that failed for one of its jobs', () => {
  it('does not cancel again the job whose cancel committed, after the workspace retried it', async () => {
    const workspaceId = await createWorkspace(h.pool);
    const token = await createToken(h.pool, workspaceId);
    const [first, second] = await createJobs(h.pool, workspaceId, 2);
    await cancels.fail(second!.id);
    const send = (kind: 'cancel' | 'retry', jobId: string) =>
      publishCommand(h.ns, kind, { v: 1, kind, id: randomUUID(), workspaceId, jobId }, { [Headers.token]: token });
    // One pass cancels both: `first`'s cancel commits, `second`'s fails.
    await inOnePass(h, 2, async () => {
      await send('cancel', first!.id);
      await send('cancel', second!.id);
    });
    await waitFor(async () => (await jobStatus(h.pool, first!.id))?.status === 'CANCELLED' && ((await commandOutcomes(h, 'cancel')).retried ?? 0) >= 1, 10_000, 'the first cancel committed, the second put back');
    // The user then retries the cancelled job: queued again as attempt 2, once the workspace's
    // put-back cancel, which came first, is handled.
    await send('retry', first!.id);
    // The other job's trouble passes; its cancel goes through on a redelivery.
    await cancels.heal(second!.id);
    await waitFor(async () => (await jobStatus(h.pool, second!.id))?.status === 'CANCELLED', 20_000, 'the second cancel applied');
    await waitFor(async () => (await jobStatus(h.pool, first!.id))?.status === 'QUEUED', 10_000, 'the retry applied');
    await waitFor(async () => (await h.ns.jsm.consumers.info(h.ns.names.streams.commands, h.ns.names.consumers.scheduler)).num_ack_pending === 0, 15_000, 'all settled');
    expect({ first: await jobStatus(h.pool, first!.id), events: await eventTypes(h.pool, first!.id) }).toEqual({
      first: { status: 'QUEUED', attempt: 2 },
      events: ['job.created', 'job.queued', 'job.cancelled', 'job.queued'],
    });
  }, 60_000);
});
