/**
 * Group commit for single-job submits. Concurrent `POST /runner-jobs` requests hand their job
 * here; jobs are gathered for up to `flushWindowMs` (or until `maxBatch` wait) and stored by one
 * `insertJobs` in one transaction, so a busy API pays a few round trips and one commit per batch
 * instead of per job. Each request's promise settles after the commit that carries its job.
 *
 * Jobs of a batch are independent: an idempotency conflict answers only its own request (its
 * job was not inserted), and when a batch fails for another reason than a lost connection its
 * jobs are retried one per transaction, so one bad job cannot fail its neighbours.
 */
import { GantryError } from '@gantry/contracts';
import { isConnectionError, translateDbError, withTransaction, type Pool } from '@gantry/store';
import { answerOf, storeJobs, type Accepted, type PreparedJob, type Stored } from './accept.js';

/** Options of {@link createSubmitBatcher}. */
export interface SubmitBatcherOptions {
  readonly pool: Pool;
  /** Called after each commit with the batch's jobs and what became of them (publish here). */
  readonly onCommit: (jobs: readonly PreparedJob[], stored: readonly Stored[]) => void;
  /** Receives what `onCommit` throws. */
  readonly onCommitError?: (err: unknown) => void;
  /** How long the first job of a batch waits for company; default 2 ms. */
  readonly flushWindowMs?: number;
  /** Jobs per transaction at most; default 500. */
  readonly maxBatch?: number;
  /** Transactions in flight at once; default 2. */
  readonly maxConcurrentFlushes?: number;
}

/** Group-commits single-job submits. */
export interface SubmitBatcher {
  /** Stores `job` in the next batch; resolves after its commit. */
  submit(job: PreparedJob): Promise<Accepted>;
  /** Refuses new jobs and waits for those accepted to commit. */
  stop(): Promise<void>;
}

interface Pending {
  readonly job: PreparedJob;
  resolve(answer: Accepted): void;
  reject(err: unknown): void;
}

/** Builds the batcher; see the module doc. */
export function createSubmitBatcher(opts: SubmitBatcherOptions): SubmitBatcher {
  const windowMs = opts.flushWindowMs ?? 2;
  const maxBatch = opts.maxBatch ?? 500;
  const maxConcurrent = opts.maxConcurrentFlushes ?? 2;
  let pending: Pending[] = [];
  const flushes = new Set<Promise<void>>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const settle = (batch: readonly Pending[], stored: readonly Stored[]) => {
    batch.forEach((p, i) => {
      const s = stored[i]!;
      if (s.kind === 'conflict') p.reject(s.error);
      else p.resolve(answerOf(p.job, s));
    });
  };

  const commit = async (batch: readonly Pending[]) => {
    const jobs = batch.map((p) => p.job);
    const stored = await withTransaction(opts.pool, (client) => storeJobs(client, jobs));
    settle(batch, stored);
    try {
      opts.onCommit(jobs, stored);
    } catch (err) {
      opts.onCommitError?.(err);
    }
  };

  const flush = async (batch: Pending[]) => {
    try {
      await commit(batch);
    } catch (err) {
      if (batch.length === 1 || isConnectionError(err)) {
        const error = translateDbError(err);
        for (const p of batch) p.reject(error);
        return;
      }
      for (const p of batch) await commit([p]).catch((e: unknown) => p.reject(translateDbError(e)));
    }
  };

  const flushReady = () => {
    while (flushes.size < maxConcurrent && pending.length > 0) {
      const batch = pending.slice(0, maxBatch);
      pending = pending.slice(batch.length);
      const f = flush(batch).finally(() => {
        flushes.delete(f);
        if (pending.length > 0) schedule();
      });
      flushes.add(f);
    }
  };

  function schedule(): void {
    if (pending.length >= maxBatch) {
      flushReady();
      return;
    }
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      flushReady();
    }, windowMs);
  }

  return {
    submit(job) {
      if (stopped) return Promise.reject(new GantryError('UNAVAILABLE', 'the server is stopping'));
      return new Promise<Accepted>((resolve, reject) => {
        pending.push({ job, resolve, reject });
        schedule();
      });
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      timer = undefined;
      while (pending.length > 0 || flushes.size > 0) {
        flushReady();
        await Promise.race(flushes);
      }
    },
  };
}
