/**
 * `npm run soak -- [--rate 50] [--minutes 10] [--sample-seconds 60] [--workers 2]
 * [--concurrency 32] [--sleep-ms 0] [--vacuum-seconds N]`: a steady load against a local cluster (bench's cluster: its
 * own database and namespace on the machine's PostgreSQL and NATS, a scheduler and worker
 * processes), `rate` standard jobs submitted every second for `minutes`. Every sample window it
 * prints one `[soak]` line — throughput, p99 (submit → terminal event), backlog and each
 * service's RSS — and at the end one JSON line: the totals, the shared checker's verdict over
 * every submitted job, and a flat/growing memory verdict per service. Ctrl-C ends the load early
 * and still reports. Not part of CI.
 *
 * `--vacuum-seconds N` runs `VACUUM (ANALYZE)` on the tables the load updates every N seconds,
 * standing in for autovacuum on a server that has it off (the line printed at the start says
 * which): without either, dead row versions pile up and every statement slows down as they do.
 */
import { standardJob, startCluster } from '@gantry/bench/src/cluster.js';
import { checkRun } from '../check/run-report.js';
import { endedAmong, percentile, rssOf, rssVerdicts, type SoakSample } from './samples.js';

function option(argv: readonly string[], name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(argv[i + 1]) : fallback;
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number`);
  return value;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, Math.max(0, ms)));
const say = (line: string) => process.stdout.write(`${line}\n`);

async function main(argv: readonly string[]): Promise<void> {
  const rate = option(argv, 'rate', 50);
  const minutes = option(argv, 'minutes', 10);
  const sampleMs = option(argv, 'sample-seconds', 60) * 1000;
  const workers = option(argv, 'workers', 2);
  const concurrency = option(argv, 'concurrency', 32);
  const sleepMs = argv.includes('--sleep-ms') ? option(argv, 'sleep-ms', 1) : 0;
  const vacuumMs = argv.includes('--vacuum-seconds') ? option(argv, 'vacuum-seconds', 60) * 1000 : 0;
  let stopping = false;
  process.once('SIGINT', () => {
    stopping = true;
    say('[soak] SIGINT: ending the load early, then reporting');
  });

  say(`[soak] starting a cluster: ${workers} workers × ${concurrency} slots; ${rate} jobs/s for ${minutes} min`);
  const cluster = await startCluster({ workers, concurrency });
  try {
    const { rows } = await cluster.pool.query<{ autovacuum: string }>('SHOW autovacuum');
    say(`[soak] PostgreSQL autovacuum: ${rows[0]!.autovacuum}; VACUUM by the soak: ${vacuumMs > 0 ? `every ${vacuumMs / 1000} s` : 'no'}`);
    const ws = cluster.workspaceIds[0]!;
    const spec = standardJob({ type: 'soak' }, sleepMs);
    const submittedAt = new Map<string, number>();
    const pending = new Set<string>();
    const vacuums: number[] = [];
    const pids = () => ({
      scheduler: cluster.scheduler.child.pid,
      ...Object.fromEntries(cluster.workers.map((w, i) => [`w${i}`, w.child.pid])),
    });
    const startedAt = Date.now();
    const endAt = startedAt + minutes * 60_000;
    const samples: SoakSample[] = [];
    const allLatencies: number[] = [];
    let endedTotal = 0;

    const load = async () => {
      for (let tick = 0; !stopping && startedAt + tick * 1000 < endAt; tick++) {
        await sleep(startedAt + tick * 1000 - Date.now());
        const sent = await cluster.submit(Array.from({ length: rate }, () => ({ workspaceId: ws, spec })));
        for (const s of sent) {
          submittedAt.set(s.id, s.submittedAt);
          pending.add(s.id);
        }
      }
    };
    const vacuum = async () => {
      for (let at = startedAt + vacuumMs; vacuumMs > 0 && !stopping && at < endAt; at += vacuumMs) {
        await sleep(at - Date.now());
        const t = performance.now();
        await cluster.pool.query('VACUUM (ANALYZE) runner_jobs, job_steps');
        vacuums.push(Math.round(performance.now() - t));
      }
    };
    const sampleWindow = async (from: number, to: number) => {
      const ended = await endedAmong(cluster.pool, [...pending], to);
      for (const id of ended.keys()) pending.delete(id);
      const latencies = [...ended].map(([id, at]) => at - submittedAt.get(id)!);
      allLatencies.push(...latencies);
      endedTotal += ended.size;
      const sample: SoakSample = {
        minute: Math.round(((to - startedAt) / 60_000) * 100) / 100,
        submitted: submittedAt.size,
        ended: endedTotal,
        jobsPerSecond: Math.round((ended.size / ((to - from) / 1000)) * 10) / 10,
        p99Ms: percentile(latencies, 99),
        backlog: submittedAt.size - endedTotal,
        rssMiB: await rssOf(pids()),
      };
      samples.push(sample);
      say(`[soak] ${JSON.stringify(sample)}`);
    };
    const sampler = async () => {
      let from = startedAt;
      while (!stopping && from + sampleMs <= endAt) {
        await sleep(from + sampleMs - Date.now());
        await sampleWindow(from, from + sampleMs);
        from += sampleMs;
      }
      return from;
    };
    const [, sampledUntil] = await Promise.all([load(), sampler(), vacuum()]);

    const ids = [...submittedAt.keys()];
    await cluster.waitForTerminal(ids.length, 300_000).catch((err: Error) => say(`[soak] ${err.message}`));
    if (Date.now() - sampledUntil > 1_000) await sampleWindow(sampledUntil, Date.now() + 1);
    const check = await checkRun(cluster.pool, ids);
    const seconds = (Date.now() - startedAt) / 1000;
    say(
      JSON.stringify({
        scenario: 'soak',
        rate,
        minutes: Math.round((seconds / 60) * 100) / 100,
        submitted: ids.length,
        ended: endedTotal,
        jobsPerSecond: Math.round((endedTotal / seconds) * 10) / 10,
        p50Ms: percentile(allLatencies, 50),
        p99Ms: percentile(allLatencies, 99),
        statuses: check.statuses,
        violations: check.violations.length,
        firstViolations: check.violations.slice(0, 5),
        memory: rssVerdicts(samples),
        vacuums: { runs: vacuums.length, maxMs: Math.max(0, ...vacuums) },
      }),
    );
    if (check.violations.length > 0) process.exitCode = 1;
  } finally {
    await cluster.stop();
  }
}

await main(process.argv.slice(2));
