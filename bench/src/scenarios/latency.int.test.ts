/**
 * latency against the real cluster: a job's latency runs from its scheduled arrival, so a load
 * generator held up does not hide the wait of the jobs due meanwhile (coordinated omission).
 */
import { describe, expect, it } from 'vitest';
import { type Cluster, type StartCluster, startCluster } from '../cluster.js';
import { latency } from './latency.js';

const STALL_MS = 700;

describe('latency', () => {
  it('counts a 700 ms stall of the load generator in the latency of the jobs due during it', async () => {
    let stalled = false;
    // The real cluster; its first submit arms a hold of the bench's event loop 1 s later.
    const start: StartCluster = async (opts) => {
      const cluster = await startCluster(opts);
      const submit = cluster.submit.bind(cluster);
      return {
        ...cluster,
        submit: (jobs, o) => {
          if (!stalled) {
            stalled = true;
            setTimeout(() => {
              const until = Date.now() + STALL_MS;
              while (Date.now() < until) {
                /* a load generator without a core (a GC pause, a busy machine) */
              }
            }, 1_000);
          }
          return submit(jobs, o);
        },
      } satisfies Cluster;
    };
    const figures = await latency.run(new Map([['rate', '50'], ['seconds', '3'], ['warmup', '0'], ['workers', '1'], ['concurrency', '8']]), start);
    expect(stalled).toBe(true);
    expect(figures.jobs).toBe(150);
    // The job due as the stall began was sent when it ended: it waited at least the stall.
    expect(figures.maxMs as number).toBeGreaterThanOrEqual(STALL_MS - 50);
    // 35 of the 150 jobs were due during the stall, more than 5 %: the p95 shows it too.
    expect(figures.p95Ms as number).toBeGreaterThanOrEqual(100);
    expect((figures.stagesMs as { send: { p99: number } }).send.p99).toBeGreaterThanOrEqual(100);
  }, 120_000);
});
