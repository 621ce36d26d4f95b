/** recovery against the real cluster: a job that never ends is reported as lost, not a thrown timeout. */
import { dispatchConsumer, names } from '@gantry/contracts';
import { describe, expect, it } from 'vitest';
import { type Cluster, type StartCluster, startCluster } from '../cluster.js';
import { recovery } from './recovery.js';

const SETTLE_MS = 20_000;

describe('recovery', () => {
  it('counts a job that never ends in lostJobs after its bounded wait, rather than throwing a timeout', async () => {
    // The last job runs 300 days from now: it stays PENDING, as a lost job would stay unfinished.
    const start: StartCluster = async (opts) => {
      const cluster = await startCluster(opts);
      return {
        ...cluster,
        submit: (jobs, o) =>
          cluster.submit(
            jobs.map((j, i) => (i === jobs.length - 1 ? { ...j, spec: { ...j.spec, runAt: new Date(Date.now() + 300 * 86_400_000).toISOString() } } : j)),
            o,
          ),
      } satisfies Cluster;
    };
    const figures = await recovery.run(
      new Map([['jobs', '60'], ['workers', '2'], ['concurrency', '4'], ['lost-ms', '1000'], ['settle-ms', String(SETTLE_MS)]]),
      start,
    );
    // A dispatch the killed worker had pulled but not claimed (a starved machine, CI, widens that
    // window) comes back after the dispatch consumer's ack wait, well within the settle: the one
    // job that never ends is the only one lost.
    expect(dispatchConsumer(names('bench'), 'default').ackWaitMs).toBeLessThan(SETTLE_MS / 2);
    expect(figures, JSON.stringify(figures)).toMatchObject({ jobs: 60, lostJobs: 1, failedJobs: 0, cancelledJobs: 0, doubleTerminal: 0 });
  }, 120_000);
});
