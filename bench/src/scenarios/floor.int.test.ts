import { describe, expect, it } from 'vitest';
import { floor } from './floor.js';

// `bullmq` has no test here: it needs Redis, which `npm test` neither needs nor starts.
describe('floor', () => {
  it('writes ten events per job through the store, batched, one job at a time and in bursts, and says what it cost', async () => {
    const figures = await floor.run(new Map([
      ['jobs', '300'], ['batch', '50'], ['lanes', '2'], ['serial-jobs', '30'], ['rate', '100'], ['bursts', '2'], ['burst-jobs', '6'],
    ]));
    expect(figures).toMatchObject({ jobs: 300, events: 3_000, batch: 50, lanes: 2, serial: { rate: 100, jobs: 30 } });
    expect(figures.jobsPerSecond).toBeGreaterThan(0);
    const serial = figures.serial as { p50Ms: number; p99Ms: number };
    expect(serial.p50Ms).toBeGreaterThan(0);
    expect(serial.p99Ms).toBeGreaterThanOrEqual(serial.p50Ms);
    // Every split of a burst of 6 (into 1, 2, 3 and 5 groups); a job waits at least its 2 ms run.
    const burst = figures.burst as { bestP99Ms: number; bestGroups: number; splits: { groups: number; p50Ms: number; p99Ms: number }[] };
    expect(burst.splits.map((s) => s.groups)).toEqual([1, 2, 3, 5]);
    for (const split of burst.splits) {
      expect(split.p50Ms).toBeGreaterThan(2);
      expect(split.p99Ms).toBeGreaterThanOrEqual(split.p50Ms);
    }
    expect(burst.bestP99Ms).toBe(Math.min(...burst.splits.map((s) => s.p99Ms)));
  });
});
