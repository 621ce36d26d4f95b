import { describe, expect, it } from 'vitest';
import { metricSum } from '@gantry/testkit';
import { standardJob, startCluster } from './cluster.js';

/** The express lane end to end: a real scheduler and a real worker process on the bench's cluster. */
describe('the express lane', () => {
  it('runs an urgent job in an express slot while the only ordinary slot is busy, and nothing less urgent', async () => {
    const cluster = await startCluster({ workers: 1, concurrency: 1, workerEnv: { WORKER_EXPRESS_SLOTS: '1' } });
    try {
      const ws = cluster.workspaceIds[0]!;
      const status = async (id: string) =>
        (await cluster.pool.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [id])).rows[0]?.status;
      const until = async (id: string, wanted: string) => {
        const deadline = Date.now() + 30_000;
        while ((await status(id)) !== wanted) {
          if (Date.now() > deadline) throw new Error(`job ${id} is ${await status(id)}, not ${wanted}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      // The ordinary slot: a job that runs for a while.
      const [long] = await cluster.submit([{ workspaceId: ws, spec: standardJob({ priority: 10 }, 8_000) }]);
      await until(long!.id, 'RUNNING');
      // Below the express priority (80 by default), a job waits for the ordinary slot.
      const [normal] = await cluster.submit([{ workspaceId: ws, spec: standardJob({ priority: 79 }) }]);
      const [urgent] = await cluster.submit([{ workspaceId: ws, spec: standardJob({ priority: 90 }) }]);
      await until(urgent!.id, 'COMPLETED');
      expect(await status(long!.id)).toBe('RUNNING');
      expect(await status(normal!.id)).toBe('QUEUED');
      expect(await metricSum(cluster.scheduler, 'gantry_dispatches_total', { outcome: 'express' })).toBe(1);
      await until(normal!.id, 'COMPLETED');
      expect(await status(long!.id)).toBe('COMPLETED');
    } finally {
      await cluster.stop();
    }
  });
});
