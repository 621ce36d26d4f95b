/** scale runs throughput at each point with the settings its description gives, on a fake cluster. */
import { describe, expect, it } from 'vitest';
import type { Cluster, ClusterOptions, StartCluster } from '../cluster.js';
import { scale } from './scale.js';

/** A cluster that completes every job at once, with ten events each; records the options it was started with. */
function fakeStart(started: ClusterOptions[]): StartCluster {
  return async (opts) => {
    started.push(opts);
    const ids: string[] = [];
    const cluster = {
      scheduler: { child: { pid: process.pid } },
      workers: [],
      workspaceIds: ['ws'],
      pool: {
        query: async (sql: string) => ({ rows: sql.includes('pg_stat_user_tables') ? [] : [{ events: ids.length * 10, completed: ids.length }] }),
      },
      async submit(jobs: readonly unknown[]) {
        return jobs.map(() => {
          ids.push(`j${ids.length}`);
          return { id: ids.at(-1)!, submittedAt: Date.now() };
        });
      },
      waitForTerminal: async () => Date.now(),
      timings: async () => new Map(ids.map((id) => [id, { startedAt: 0, workerId: 'w0', endedAt: Date.now() + 1, endObserved: true, terminalEvents: 1 }])),
      stopServices: async () => undefined,
      stop: async () => undefined,
    };
    return cluster as unknown as Cluster;
  };
}

describe('scale', () => {
  it('runs every point with the concurrency its description names, and prints it', async () => {
    const started: ClusterOptions[] = [];
    const figures = await scale.run(new Map([['jobs', '10']]), fakeStart(started));
    const described = Number(/--concurrency (\d+)/.exec(scale.description)![1]);
    expect(started.map((o) => [o.workers, o.concurrency])).toEqual([[1, described], [2, described], [4, described]]);
    expect(figures).toMatchObject({ jobs: 10, concurrency: described });
  });

  it('runs every point with the concurrency given', async () => {
    const started: ClusterOptions[] = [];
    const figures = await scale.run(new Map([['jobs', '10'], ['concurrency', '64']]), fakeStart(started));
    expect(started.map((o) => o.concurrency)).toEqual([64, 64, 64]);
    expect(figures.concurrency).toBe(64);
  });
});
