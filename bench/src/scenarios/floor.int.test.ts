import { describe, expect, it } from 'vitest';
import { floor } from './floor.js';

// `bullmq` has no test here: it needs Redis, which `npm test` neither needs nor starts.
describe('floor', () => {
  it('writes ten events per job through the store, batched and one job at a time, and says what it cost', async () => {
    const figures = await floor.run(new Map([['jobs', '300'], ['batch', '50'], ['lanes', '2'], ['serial-jobs', '30'], ['rate', '100']]));
    expect(figures).toMatchObject({ jobs: 300, events: 3_000, batch: 50, lanes: 2, serial: { rate: 100, jobs: 30 } });
    expect(figures.jobsPerSecond).toBeGreaterThan(0);
    const serial = figures.serial as { p50Ms: number; p99Ms: number };
    expect(serial.p50Ms).toBeGreaterThan(0);
    expect(serial.p99Ms).toBeGreaterThanOrEqual(serial.p50Ms);
  });
});
