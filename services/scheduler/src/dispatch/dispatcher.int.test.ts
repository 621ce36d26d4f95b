import { describe, expect, it } from 'vitest';
import { createJobs, createWorkspace, jobSpec } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { FakeWorker, waitFor } from '../testing/harness.js';

const h = useScheduler();

describe('the dispatcher', () => {
  it('dispatches only as many jobs as workers have free slots, and serves higher priority first as slots free', async () => {
    const ws = await createWorkspace(h.pool);
    const low = await createJobs(h.pool, ws, 20, { spec: jobSpec({ priority: 10 }) });
    const worker = new FakeWorker(h.ns, h.pool, 2);
    worker.start();
    try {
      const running = async () =>
        (await h.pool.query(`SELECT count(*)::int AS n FROM runner_jobs WHERE status = 'RUNNING'`)).rows[0].n as number;
      await waitFor(async () => (await running()) === 2, 10_000, 'two claimed jobs');
      // Every slot is taken: a round finds no credit and dispatches nothing.
      const lease = h.scheduler.leadership.lease!;
      expect(await h.scheduler.dispatcher.round(lease)).toBe(0);
      expect(worker.dispatches).toHaveLength(2);

      const high = await createJobs(h.pool, ws, 3, { spec: jobSpec({ priority: 90 }) });
      h.scheduler.dispatcher.wake();
      for (let i = 0; i < 5; i++) {
        const held = worker.dispatches[i]!.jobId;
        await worker.finish(held);
        await waitFor(() => worker.dispatches.length === 3 + i, 10_000, `dispatch ${3 + i}`);
      }
      const order = worker.dispatches.map((d) => d.jobId);
      expect(order.slice(0, 2)).toEqual(low.slice(0, 2).map((j) => j.id));
      expect(order.slice(2, 5)).toEqual(high.map((j) => j.id));
      expect(order.slice(5, 7)).toEqual(low.slice(2, 4).map((j) => j.id));
    } finally {
      await worker.stop();
    }
  });
});
