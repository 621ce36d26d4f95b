/**
 * The latency scenario's own arithmetic and its failure path, on a fake cluster that answers at
 * once (the real cluster's side is in `latency.int.test.ts`).
 */
import { describe, expect, it } from 'vitest';
import type { JobSpecInput } from '@gantry/contracts';
import type { Cluster, StartCluster } from '../cluster.js';
import { latency } from './latency.js';

type Job = { workspaceId: string; spec: JobSpecInput };

/** A cluster whose jobs end `endsAfterMs` after their submit; `failSubmit` n makes the n-th submit reject 20 ms after it is made. */
function fakeCluster(opts: { endsAfterMs: number; failSubmit?: number }): { start: StartCluster; stops: () => number; submits: () => number } {
  let stops = 0;
  let submits = 0;
  const start: StartCluster = async () => {
    const ended = new Map<string, number>();
    let n = 0;
    const cluster = {
      workspaceIds: ['ws'],
      scheduler: { child: { pid: process.pid } },
      workers: [],
      api: undefined,
      async submit(jobs: readonly Job[]) {
        if (++submits === opts.failSubmit) {
          await new Promise((r) => setTimeout(r, 20));
          throw new Error('publish timed out');
        }
        const now = Date.now();
        return jobs.map(() => {
          const id = `j${n++}`;
          ended.set(id, now + opts.endsAfterMs);
          return { id, submittedAt: now };
        });
      },
      waitForTerminal: async () => Date.now(),
      timings: async () =>
        new Map([...ended].map(([id, at]) => [id, { startedAt: at - 2, workerId: 'w0', endedAt: at, endObserved: true, terminalEvents: 1 }])),
      stages: async () => new Map([...ended].map(([id, at]) => [id, { queuedAt: at - 4, dispatchedAt: at - 3, startedAt: at - 2, endedAt: at }])),
      async stop() {
        stops++;
      },
    };
    return cluster as unknown as Cluster;
  };
  return { start, stops: () => stops, submits: () => submits };
}

describe('latency', () => {
  it('reports the largest latency of a run longer than a spread argument list allows (200,000 jobs)', async () => {
    // Every job is due at the start (rate 200,000/s) and ends 5 ms after it is sent, so the
    // largest latency is at least 5 ms (later jobs were sent later than due).
    const { start } = fakeCluster({ endsAfterMs: 5 });
    const figures = await latency.run(new Map([['rate', '200000'], ['seconds', '1'], ['warmup', '0']]), start);
    expect(figures.jobs).toBe(200_000);
    expect(figures.maxMs).toBeGreaterThanOrEqual(5);
    expect(figures.maxMs).toBeGreaterThanOrEqual(figures.p99Ms as number);
    expect(figures.endsFromDatabase).toBe(0);
  });

  it('fails the run with a submit error as it happens, through the cluster teardown, with no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      const { start, stops, submits } = fakeCluster({ endsAfterMs: 1, failSubmit: 3 });
      await expect(latency.run(new Map([['rate', '100'], ['seconds', '30'], ['warmup', '0']]), start)).rejects.toThrow('publish timed out');
      expect(stops()).toBe(1);
      // The schedule (about 3,000 submits of one job each) was abandoned at the failure.
      expect(submits()).toBeLessThan(100);
      await new Promise((r) => setImmediate(r));
      expect(unhandled).toEqual([]);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});
