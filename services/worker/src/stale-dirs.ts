/**
 * Job directories left behind. An attempt removes its directory when it ends; a worker that
 * dies first does not, and a container restart keeps the pod's work root (an `emptyDir`) with
 * them, until the disk fills. So each worker sweeps its work root when it starts and every
 * {@link STALE_DIR_SWEEP_MS} after: a directory `<jobId>.<attempt>` goes once PostgreSQL says
 * that attempt is over — the job is gone, was queued again as a later attempt, or ended or was
 * parked at a gate as this one — and this worker does not hold it.
 *
 * Several workers may share a work root (one host, one directory): a directory whose attempt
 * still runs, or has not ended, is left alone whoever runs it. A restarted worker's attempts are
 * RUNNING until the scheduler finds them lost and queues them again; the sweep after that takes
 * their directories. Nothing else under the root is touched.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '@gantry/runtime';
import type { Pool } from '@gantry/store';
import { ATTEMPT_DIR_NAME, removeAttemptTree } from './workdir.js';

/** How often a running worker sweeps its work root. */
export const STALE_DIR_SWEEP_MS = 60_000;

/** Directories read per sweep at most (the rest wait for the next). */
const MAX_PER_SWEEP = 1_000;

/** Statuses in which a job's current attempt is over: ended, or parked at a gate (a decision queues a new attempt). */
const OVER = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'WAITING']);

/** Removes the directories under `root` of attempts that are over; resolves with how many. */
export async function sweepStaleJobDirs(opts: {
  readonly root: string;
  readonly pool: Pool;
  /** True for an attempt this worker holds now. */
  readonly holds: (jobId: string, attempt: number) => boolean;
  readonly logger: Logger;
}): Promise<number> {
  let names: string[];
  try {
    names = await readdir(opts.root);
  } catch {
    return 0;
  }
  const found = names
    .map((name) => ATTEMPT_DIR_NAME.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ name: m[0], jobId: m[1]!, attempt: Number(m[2]) }))
    .filter((d) => !opts.holds(d.jobId, d.attempt))
    .slice(0, MAX_PER_SWEEP);
  if (found.length === 0) return 0;
  const { rows } = await opts.pool.query<{ id: string; attempt: number; status: string }>(
    'SELECT id, attempt, status FROM runner_jobs WHERE id = ANY($1::uuid[])',
    [[...new Set(found.map((d) => d.jobId))]],
  );
  const jobs = new Map(rows.map((r) => [r.id, r]));
  let removed = 0;
  for (const d of found) {
    const job = jobs.get(d.jobId);
    const over = job === undefined || job.attempt > d.attempt || (job.attempt === d.attempt && OVER.has(job.status));
    // Held since the directory was listed: its attempt's own removal is next.
    if (!over || opts.holds(d.jobId, d.attempt)) continue;
    try {
      await removeAttemptTree(join(opts.root, d.name));
      removed += 1;
    } catch (err) {
      opts.logger.warn({ err, dir: d.name }, 'could not remove a job directory left behind');
    }
  }
  if (removed > 0) opts.logger.info({ removed }, 'removed job directories of attempts that are over');
  return removed;
}

/**
 * The sweeps of one running worker: one at once, when it starts and every
 * {@link STALE_DIR_SWEEP_MS} after (a tick while one still runs is skipped), until
 * {@link stop}, which resolves once the one running has ended (it uses the worker's pool).
 */
export class StaleDirSweeps {
  readonly #timer: NodeJS.Timeout;
  #running: Promise<void> | undefined;

  constructor(opts: Parameters<typeof sweepStaleJobDirs>[0]) {
    const sweep = () => {
      this.#running ??= sweepStaleJobDirs(opts)
        .then(() => undefined, (err: unknown) => opts.logger.warn({ err }, 'could not sweep the work root for job directories left behind'))
        .finally(() => (this.#running = undefined));
    };
    sweep();
    this.#timer = setInterval(sweep, STALE_DIR_SWEEP_MS).unref();
  }

  /** Stops the timer; resolves once the sweep running, if any, has ended. */
  stop(): Promise<void> {
    clearInterval(this.#timer);
    return this.#running ?? Promise.resolve();
  }
}
