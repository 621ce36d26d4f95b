/**
 * event-writer: how many JobEvents per second the group-committing writer makes durable.
 * Many concurrent callers (as a busy worker or scheduler would be) each hand the writer one
 * write at a time (one event by default, `--per-write N` for more) and wait for its commit; the
 * figure counts events from the first write to the last commit. Target on the reference
 * machine: ≥ 50,000 events/s.
 */
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import { createPool, JobWriter, insertJobs, withTransaction, type FlushReport } from '@gantry/store';
import { createTemplate, createTestDatabase, dropTemplate, jobSpec } from '@gantry/testkit';
import type { Scenario } from '../scenario.js';

export const eventWriter: Scenario = {
  name: 'event-writer',
  description: 'events/s made durable by the group-committing writer (--events, --callers, --batch, --flushes, --per-write)',
  async run(args) {
    const totalEvents = Number(args.get('events') ?? 200_000);
    const callers = Number(args.get('callers') ?? 2_000);
    const maxBatch = Number(args.get('batch') ?? 1_000);
    const concurrentFlushes = Number(args.get('flushes') ?? 2);
    const eventsPerWrite = Number(args.get('per-write') ?? 1);
    const template = await createTemplate();
    const db = await createTestDatabase(template);
    const pool = createPool(db.url, { max: 4, applicationName: 'bench-event-writer' });
    try {
      const { rows } = await pool.query<{ id: string }>(`INSERT INTO workspaces (name) VALUES ('bench') RETURNING id`);
      const workspaceId = rows[0]!.id;
      const spec = jobSpec();
      const jobIds = Array.from({ length: callers }, () => randomUUID());
      await withTransaction(pool, (c) =>
        insertJobs(c, jobIds.map((id) => ({ id, workspaceId, spec, status: 'QUEUED' as const, actor: 'bench' }))),
      );

      const flushes: FlushReport[] = [];
      const writer = new JobWriter({ pool, maxBatch, maxConcurrentFlushes: concurrentFlushes, onFlush: (r) => flushes.push(r) });
      const perCaller = Math.ceil(totalEvents / callers / eventsPerWrite);
      const started = performance.now();
      await Promise.all(
        jobIds.map(async (jobId) => {
          for (let i = 0; i < perCaller; i++) {
            await writer.write({
              jobId,
              attempt: 1,
              expect: ['QUEUED'],
              events: Array.from({ length: eventsPerWrite }, () => ({
                type: 'job.progress' as const,
                actor: 'bench',
                payload: { progress: i % 101, completedSteps: i, totalSteps: perCaller },
              })),
            });
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      await writer.stop();

      const written = perCaller * callers * eventsPerWrite;
      const { rows: count } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM job_events WHERE type = $1', ['job.progress']);
      if (count[0]!.n !== written) throw new Error(`expected ${written} events in PostgreSQL, found ${count[0]!.n}`);
      const batchSizes = flushes.map((f) => f.events).sort((a, b) => a - b);
      return {
        events: written,
        seconds: Number(seconds.toFixed(2)),
        eventsPerSecond: Math.round(written / seconds),
        flushes: flushes.length,
        medianBatch: batchSizes[Math.floor(batchSizes.length / 2)] ?? 0,
        callers,
        maxBatch,
        concurrentFlushes,
        eventsPerWrite,
        cores: cpus().length,
      };
    } finally {
      await pool.end();
      await db.drop();
      await dropTemplate(template);
    }
  },
};
