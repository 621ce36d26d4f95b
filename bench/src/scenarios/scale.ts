/**
 * scale (BENCHMARK.md): the throughput scenario with 1, 2 and 4 worker processes. On a 2-core
 * machine the curve says where the bottleneck is. Each point runs `throughput` with the same
 * `--jobs` and `--concurrency` (slots a worker), which the figures repeat.
 */
import { startCluster } from '../cluster.js';
import type { Scenario } from '../scenario.js';
import { throughput } from './throughput.js';

/** Slots a worker at every point of the curve, unless `--concurrency` says otherwise: throughput's default. */
const CONCURRENCY = 256;

export const scale: Scenario = {
  name: 'scale',
  description: `throughput with 1, 2 and 4 workers (--jobs 10000, --concurrency ${CONCURRENCY})`,
  async run(args, start = startCluster) {
    const jobs = args.get('jobs') ?? '10000';
    const concurrency = args.get('concurrency') ?? String(CONCURRENCY);
    const curve: Record<string, number> = {};
    for (const workers of [1, 2, 4]) {
      const figures = await throughput.run(new Map([...args, ['jobs', jobs], ['concurrency', concurrency], ['workers', String(workers)]]), start);
      curve[`workers${workers}JobsPerSecond`] = figures.jobsPerSecond as number;
    }
    return { jobs: Number(jobs), concurrency: Number(concurrency), ...curve };
  },
};
