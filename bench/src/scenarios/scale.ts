/**
 * scale (BENCHMARK.md): the throughput scenario with 1, 2 and 4 worker processes. On a 2-core
 * machine the curve says where the bottleneck is.
 */
import type { Scenario } from '../scenario.js';
import { throughput } from './throughput.js';

export const scale: Scenario = {
  name: 'scale',
  description: 'throughput with 1, 2 and 4 workers (--jobs 10000, --concurrency 64)',
  async run(args) {
    const jobs = args.get('jobs') ?? '10000';
    const curve: Record<string, number> = {};
    for (const workers of [1, 2, 4]) {
      const figures = await throughput.run(new Map([...args, ['jobs', jobs], ['workers', String(workers)]]));
      curve[`workers${workers}JobsPerSecond`] = figures.jobsPerSecond as number;
    }
    return { jobs: Number(jobs), ...curve };
  },
};
