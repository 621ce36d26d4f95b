/**
 * throughput against the real cluster: its figure stands only for a run in which every job
 * completed with exactly ten events, and its row versions are all the run wrote.
 */
import { describe, expect, it } from 'vitest';
import { type Cluster, type StartCluster, startCluster } from '../cluster.js';
import { throughput } from './throughput.js';

const ARGS = new Map([['jobs', '200'], ['workers', '1'], ['concurrency', '32']]);

/** The real cluster, with `wrap` changing it the way a defect of the runner would. */
function startWith(wrap: (cluster: Cluster) => Partial<Cluster>): StartCluster {
  return async (opts) => {
    const cluster = await startCluster(opts);
    return { ...cluster, ...wrap(cluster) } satisfies Cluster;
  };
}

describe('throughput', () => {
  it('fails, with no figure, when a job has an event too many', async () => {
    const start = startWith((cluster) => ({
      async waitForTerminal(count, timeoutMs) {
        const at = await cluster.waitForTerminal(count, timeoutMs);
        // A job completed twice.
        await cluster.pool.query(
          `INSERT INTO job_events (id, job_id, workspace_id, sequence, type, actor, attempt, payload)
           SELECT gen_random_uuid(), job_id, workspace_id, sequence + 1000, 'job.completed', 'test', attempt, '{}'
           FROM job_events WHERE type = 'job.completed' LIMIT 1`,
        );
        return at;
      },
    }));
    await expect(throughput.run(ARGS, start)).rejects.toThrow('2001 events for 200 jobs, not 2000');
  }, 120_000);

  it('fails, with no figure, when jobs did not complete', async () => {
    const start = startWith((cluster) => ({
      submit: (jobs, o) =>
        cluster.submit(
          jobs.map((j, i) =>
            i % 10 === 0
              ? { ...j, spec: { ...j.spec, maxAttempts: 1, steps: [{ name: 'execute', phase: 'EXECUTION' as const, type: 'NOOP' as const, spec: { fail: true } }] } }
              : j,
          ),
          o,
        ),
    }));
    await expect(throughput.run(ARGS, start)).rejects.toThrow('20 of 200 jobs did not complete');
  }, 120_000);

  it('counts every row version the run wrote, and every end as seen on the events stream', async () => {
    const figures = await throughput.run(new Map([['jobs', '300'], ['workers', '1'], ['concurrency', '32']]));
    const rv = figures.rowVersions as Record<string, { inserted: number; updated: number }>;
    expect(figures).toMatchObject({ jobs: 300, completed: 300, events: 3_000, endsFromDatabase: 0 });
    expect(rv.job_events!.inserted).toBe(3_000);
    expect(rv.runner_jobs!.inserted).toBe(300);
    // At least the claim and the terminal move of each job.
    expect(rv.runner_jobs!.updated).toBeGreaterThanOrEqual(600);
  }, 120_000);
});
