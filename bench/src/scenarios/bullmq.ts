/**
 * bullmq: the peer `../shared/BENCHMARK.md` sets Gantry's targets against, run the same way on
 * the same machine, so that the targets can be read against BullMQ's figures of the same hour
 * (this host's BullMQ throughput has varied from about 5,000 to about 14,000 jobs/s from one day
 * to the next). BullMQ (the version the lockfile pins) on the Redis at `--redis` (default
 * `redis://127.0.0.1:6379`), no persistence asked for, `--workers` processes (2) running a
 * no-op processor `--concurrency` jobs at a time (64):
 *
 * - `throughput`: `--jobs` (20,000) standard job specs added with `addBulk` 1,000 at a time;
 *   jobs/s from the first add to the last `completed` event;
 * - `latency`: open-loop adds at `--rate` jobs/s (300) for `--seconds` (30) after `--warmup`
 *   (3) unmeasured; add → `completed` event received, in ms.
 *
 * It prints the CPU the workers, redis-server and the bench used in each part. Each run has a
 * queue of its own, obliterated at the end.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { Scenario } from '../scenario.js';
import { percentile, roundMs, standardJob } from '../cluster.js';
import { cpuSince, cpuSnapshot, type CpuSnapshot } from '../cpu.js';

const WORKER_FILE = fileURLToPath(new URL('../peers/bullmq-worker.ts', import.meta.url));
const ADD_BULK = 1_000;
/**
 * The length the queue's event stream is trimmed to. BullMQ's default (10,000 entries, a few a
 * job) let the workers of a fast hour run more than that ahead of the bench's reader, whose
 * `completed` events were then trimmed unread: the throughput part waited for them until its
 * timeout. A million holds every event of a run.
 */
const EVENTS_MAX_LEN = 1_000_000;
/** How long each part may take before the run fails (a lost `completed` event would hang it). */
const PART_TIMEOUT_MS = 300_000;
const VERSION = (createRequire(import.meta.url)('bullmq/package.json') as { version: string }).version;

/** Starts one worker process and waits until it is connected. */
async function startWorker(redisUrl: string, queue: string, concurrency: number): Promise<ChildProcess> {
  const child = fork(WORKER_FILE, [redisUrl, queue, String(concurrency)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (code) => reject(new Error(`a BullMQ worker exited with ${code} before it was ready`)));
  });
  return child;
}

/** `promise`, or a failure saying `what()` after {@link PART_TIMEOUT_MS}. */
async function within<T>(promise: Promise<T>, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what()} did not finish within ${PART_TIMEOUT_MS} ms`)), PART_TIMEOUT_MS);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.send('stop');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

/** CPU seconds since `before`: the workers together, redis-server, this process, and the machine's busy share. */
function cpuOf(before: CpuSnapshot, workers: readonly ChildProcess[]): Record<string, number> {
  const use = cpuSince(before, { bench: process.pid, ...Object.fromEntries(workers.map((w, i) => [`w${i}`, w.pid])) }, { redis: 'redis-server' });
  const { bench = 0, ...perWorker } = use.services;
  return {
    workers: Math.round(Object.values(perWorker).reduce((sum, s) => sum + s, 0) * 10) / 10,
    redis: use.servers?.redis ?? 0,
    bench,
    ...(use.machineBusy === undefined ? {} : { machineBusy: use.machineBusy }),
  };
}

export const bullmq: Scenario = {
  name: 'bullmq',
  description: 'the BullMQ peer on this machine: throughput and latency (--redis redis://127.0.0.1:6379, --jobs 20000, --rate 300, --seconds 30, --warmup 3, --workers 2, --concurrency 64)',
  async run(args) {
    const redisUrl = args.get('redis') ?? 'redis://127.0.0.1:6379';
    const total = Number(args.get('jobs') ?? 20_000);
    const rate = Number(args.get('rate') ?? 300);
    const seconds = Number(args.get('seconds') ?? 30);
    const warmup = Number(args.get('warmup') ?? 3);
    const workerCount = Number(args.get('workers') ?? 2);
    const concurrency = Number(args.get('concurrency') ?? 64);
    const name = `gantry-bench-${randomBytes(4).toString('hex')}`;
    const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue(name, { connection, streams: { events: { maxLen: EVENTS_MAX_LEN } } });
    const events = new QueueEvents(name, { connection: { url: redisUrl } });
    const workers: ChildProcess[] = [];
    try {
      // The queue's settings (the event stream's length among them) are in Redis before any
      // worker starts: BullMQ writes them once connected, and `getVersion` waits for that.
      await queue.getVersion();
      await events.waitUntilReady();
      for (let i = 0; i < workerCount; i++) workers.push(await startWorker(redisUrl, name, concurrency));
      const data = { workspaceId: 'bench', priority: 50, spec: standardJob() };

      // Throughput.
      let completed = 0;
      let lastCompletedAt = 0;
      let allDone: () => void = () => undefined;
      const done = new Promise<void>((resolve) => (allDone = resolve));
      const onCompleted = () => {
        completed += 1;
        lastCompletedAt = performance.now();
        if (completed === total) allDone();
      };
      events.on('completed', onCompleted);
      let cpuBefore = cpuSnapshot();
      const started = performance.now();
      for (let sent = 0; sent < total; sent += ADD_BULK) {
        const count = Math.min(ADD_BULK, total - sent);
        await queue.addBulk(Array.from({ length: count }, () => ({ name: 'standard', data, opts: { removeOnComplete: true } })));
      }
      await within(done, () => `throughput (${completed} of ${total} completed)`);
      const throughputCpu = cpuOf(cpuBefore, workers);
      events.off('completed', onCompleted);
      const jobsPerSecond = Math.round(total / ((lastCompletedAt - started) / 1000));

      // Latency: job k is added k / rate seconds after the start, without waiting for earlier adds (open loop).
      const warm = Math.round(rate * warmup);
      const count = warm + rate * seconds;
      const dueAt = new Map<string, number>();
      const latencies: number[] = [];
      const warmLatencies: number[] = [];
      let finished = 0;
      let addFailed: unknown;
      let latencyDone: () => void = () => undefined;
      const allFinished = new Promise<void>((resolve) => (latencyDone = resolve));
      events.on('completed', ({ jobId }) => {
        const due = dueAt.get(jobId);
        if (due === undefined) return;
        const index = Number(jobId.slice(1));
        (index < warm ? warmLatencies : latencies).push(performance.now() - due);
        if (++finished === count) latencyDone();
      });
      const start = performance.now() + 200;
      for (let k = 0; k < count && addFailed === undefined; k++) {
        const due = start + (k * 1000) / rate;
        await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
        if (k === warm) cpuBefore = cpuSnapshot();
        const jobId = `j${k}`;
        dueAt.set(jobId, due);
        queue.add('standard', data, { jobId, removeOnComplete: true }).catch((err: unknown) => {
          addFailed ??= err;
          latencyDone();
        });
      }
      await within(allFinished, () => `latency (${finished} of ${count} completed)`);
      if (addFailed !== undefined) throw addFailed;
      const latencyCpu = cpuOf(cpuBefore, workers);

      return {
        version: VERSION,
        throughput: { jobs: total, jobsPerSecond, cpuSeconds: throughputCpu },
        latency: {
          rate,
          seconds,
          jobs: latencies.length,
          warmupP99Ms: roundMs(percentile(warmLatencies, 99)),
          p50Ms: roundMs(percentile(latencies, 50)),
          p95Ms: roundMs(percentile(latencies, 95)),
          p99Ms: roundMs(percentile(latencies, 99)),
          maxMs: roundMs(percentile(latencies, 100)),
          cpuSeconds: latencyCpu,
        },
        workers: workerCount,
        concurrency,
      };
    } finally {
      for (const w of workers) await stopWorker(w);
      await queue.obliterate({ force: true }).catch(() => undefined);
      await queue.close();
      await events.close();
      await connection.quit();
    }
  },
};
