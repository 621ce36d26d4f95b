import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Headers, type JobSpecInput, MetricNames } from '@gantry/contracts';
import { createToken, createWorkspace } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { publishCommand, waitFor } from '../testing/harness.js';

const h = useScheduler();

const job: JobSpecInput = { type: 'flood', steps: [{ name: 'only', phase: 'EXECUTION', type: 'NOOP' }] };

/** The scheduler's count of submit commands by outcome. */
async function submitOutcomes(): Promise<Record<string, number>> {
  const metric = await h.metrics.registry.getSingleMetric(MetricNames.commandsProcessed)!.get();
  return Object.fromEntries(metric.values.filter((v) => v.labels.command === 'submit').map((v) => [String(v.labels.outcome), v.value]));
}

describe('the command consumer', () => {
  it('handles commands once each, however long they are held past the first redelivery wait', async () => {
    const workspaceId = await createWorkspace(h.pool);
    const token = await createToken(h.pool, workspaceId);
    // Another transaction locks the workspace row, so the pass that creates these jobs waits on
    // the foreign key's lock for 2.5 s: past the consumer's first redelivery wait (1 s). A copy
    // the server sent meanwhile would be handled again once the lock goes: a no-op.
    const blocker = await h.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM workspaces WHERE id = $1 FOR UPDATE', [workspaceId]);
      for (let i = 0; i < 3; i++) {
        await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobs: [{ jobId: randomUUID(), job }] }, { [Headers.token]: token });
      }
      await new Promise((resolve) => setTimeout(resolve, 2_500));
      await blocker.query('COMMIT');
    } finally {
      blocker.release();
    }
    await waitFor(async () => (await submitOutcomes()).applied === 3, 10_000, 'every command applied');
    // A copy would be handled within moments of the first pass: give it that long to show.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(await submitOutcomes()).toEqual({ applied: 3 });
    const info = await h.ns.jsm.consumers.info(h.ns.names.streams.commands, h.ns.names.consumers.scheduler);
    expect(info.num_ack_pending).toBe(0);
  });

  it('counts a job created twice in one pass once: the second command is a repeat', async () => {
    const workspaceId = await createWorkspace(h.pool);
    const token = await createToken(h.pool, workspaceId);
    const before = await submitOutcomes();
    const [first, twice] = [randomUUID(), randomUUID()];
    // The first command's pass waits on a lock of the workspace row, so the next two, which
    // create the same new job, queue behind it and are taken in one pass.
    const blocker = await h.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM workspaces WHERE id = $1 FOR UPDATE', [workspaceId]);
      await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobs: [{ jobId: first, job }] }, { [Headers.token]: token });
      await waitFor(async () => (await h.pool.query(`SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`)).rowCount! > 0, 5_000, 'the first pass waiting');
      for (let i = 0; i < 2; i++) {
        await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobs: [{ jobId: twice, job }] }, { [Headers.token]: token });
      }
      // All three delivered, the last two queued behind the first's pass: taken together next.
      await waitFor(async () => {
        const info = await h.ns.jsm.consumers.info(h.ns.names.streams.commands, h.ns.names.consumers.scheduler);
        return info.num_pending === 0 && info.num_ack_pending === 3;
      }, 5_000, 'the three commands delivered');
      await blocker.query('COMMIT');
    } finally {
      blocker.release();
    }
    const counted = async () => {
      const now = await submitOutcomes();
      return { applied: (now.applied ?? 0) - (before.applied ?? 0), noop: (now.noop ?? 0) - (before.noop ?? 0) };
    };
    await waitFor(async () => {
      const c = await counted();
      return c.applied + c.noop === 3;
    }, 10_000, 'the three commands handled');
    expect(await counted()).toEqual({ applied: 2, noop: 1 });
    const { rows } = await h.pool.query('SELECT count(*)::int AS n FROM runner_jobs WHERE id = ANY($1::uuid[])', [[first, twice]]);
    expect(rows[0].n).toBe(2);
  });

  it('handles a workspace’s commands while a pass of another workspace’s waits', async () => {
    const flooding = await createWorkspace(h.pool);
    const other = await createWorkspace(h.pool);
    const [floodToken, otherToken] = [await createToken(h.pool, flooding), await createToken(h.pool, other)];
    const exists = async (id: string) => (await h.pool.query('SELECT 1 FROM runner_jobs WHERE id = $1', [id])).rowCount === 1;
    const [held, free] = [randomUUID(), randomUUID()];
    // The first workspace's pass waits on a lock of its workspace row (its jobs' foreign key).
    const blocker = await h.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM workspaces WHERE id = $1 FOR UPDATE', [flooding]);
      await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId: flooding, jobs: [{ jobId: held, job }] }, { [Headers.token]: floodToken });
      await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId: other, jobs: [{ jobId: free, job }] }, { [Headers.token]: otherToken });
      await waitFor(() => exists(free), 5_000, 'the other workspace’s job, while the first pass waits');
      expect(await exists(held)).toBe(false);
      await blocker.query('COMMIT');
    } finally {
      blocker.release();
    }
    await waitFor(() => exists(held), 5_000, 'the first workspace’s job, once its pass goes on');
  });
});

