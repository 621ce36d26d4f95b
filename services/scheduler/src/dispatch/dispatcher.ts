/**
 * The leader's dispatch loop. A round claims, for each pool with live workers, as many jobs as
 * the pool has credit with one set-based statement (which counts the credit too: see
 * `claim-sql.ts`), and publishes their dispatches asynchronously in one batch
 * (`Nats-Msg-Id` `<jobId>:<attempt>`) without waiting for their PubAcks before the next round.
 * Rounds run when something may have changed — a worker freed a slot, jobs were queued — and at
 * least every `intervalMs` (delays and aging need the clock). Wake-ups during a round coalesce
 * into one more round.
 *
 * A dispatch whose publish fails is un-marked as soon as its answer comes, so a later round
 * dispatches it again.
 */
import { type Dispatch, dispatchMsgId, type Names } from '@gantry/contracts';
import type { Logger, Publisher } from '@gantry/runtime';
import type { Pool } from '@gantry/store';
import type { Lease } from '../leadership/lease.js';
import type { SchedulerMetrics } from '../metrics.js';
import type { WorkerRegistry } from '../workers/registry.js';
import { claim, type ClaimedJob, type FreeWorker } from './claim-sql.js';

export interface DispatcherOptions {
  pool: Pool;
  publisher: Publisher;
  names: Names;
  workers: WorkerRegistry;
  logger: Logger;
  metrics: SchedulerMetrics;
  intervalMs: number;
  batch: number;
  defaultWorkspaceLimit: number;
  agingSecondsPerPoint: number;
}

const UNMARK_SQL = `UPDATE runner_jobs SET dispatched_at = NULL
  WHERE id = ANY($1::uuid[]) AND status = 'QUEUED' AND dispatched_at IS NOT NULL`;

export class Dispatcher {
  readonly #opts: DispatcherOptions;
  #wakeRequested = false;
  #wakeUp: (() => void) | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();

  constructor(opts: DispatcherOptions) {
    this.#opts = opts;
  }

  /** Asks for a round as soon as possible (coalesces). */
  wake(): void {
    this.#wakeRequested = true;
    this.#wakeUp?.();
  }

  /** Runs rounds while `lease` is held; returns when `signal` aborts. */
  async run(lease: Lease, signal: AbortSignal): Promise<void> {
    const logger = this.#opts.logger.child({ component: 'dispatcher', term: lease.term });
    while (!signal.aborted) {
      this.#wakeRequested = false;
      try {
        const dispatched = await this.round(lease);
        // A full round means more may be waiting for the credit the next beats bring.
        if (dispatched >= this.#opts.batch) this.#wakeRequested = true;
      } catch (err) {
        logger.error({ err }, 'dispatch round failed');
      }
      if (!this.#wakeRequested) await this.#sleep(signal);
    }
    await Promise.allSettled([...this.#inFlight]);
  }

  /** One round; returns how many jobs it dispatched. */
  async round(lease: Lease): Promise<number> {
    const { pool, workers, batch } = this.#opts;
    // The pools with live workers, each with those of its workers that take jobs.
    const pools = new Map<string, FreeWorker[]>();
    for (const w of workers.live()) {
      const list = pools.get(w.pool) ?? [];
      pools.set(w.pool, list);
      if (!w.draining) list.push({ workerId: w.workerId, slots: w.slots, busy: w.busy });
    }
    let total = 0;
    for (const [poolName, free] of pools) {
      if (free.length === 0) {
        this.#opts.metrics.freeSlots.set({ pool: poolName }, 0);
        continue;
      }
      const { credit, jobs: claimed } = await claim(pool, lease, {
        pool: poolName,
        limit: batch,
        workers: free,
        defaultWorkspaceLimit: this.#opts.defaultWorkspaceLimit,
        agingSecondsPerPoint: this.#opts.agingSecondsPerPoint,
      });
      this.#opts.metrics.freeSlots.set({ pool: poolName }, credit);
      if (claimed.length === 0) continue;
      // The next round does not wait for these PubAcks: claimed jobs count against the credit
      // (dispatched, not yet claimed) from the moment of the claim, and a failed publish is
      // un-marked when its answer comes.
      const published = this.#publish(poolName, lease, claimed).catch((err: unknown) =>
        this.#opts.logger.error({ err, pool: poolName }, 'dispatch publish bookkeeping failed'),
      );
      this.#inFlight.add(published);
      void published.finally(() => this.#inFlight.delete(published));
      total += claimed.length;
    }
    return total;
  }

  async #publish(poolName: string, lease: Lease, jobs: readonly ClaimedJob[]): Promise<void> {
    const { names, publisher, metrics } = this.#opts;
    const now = new Date();
    const results = await publisher.publishAll(
      jobs.map((job) => {
        const body: Dispatch = {
          v: 1,
          jobId: job.id,
          workspaceId: job.workspaceId,
          attempt: job.attempt,
          term: lease.term,
          dispatchedAt: now.toISOString(),
        };
        return { subject: names.subjects.dispatch(poolName), data: JSON.stringify(body), msgId: dispatchMsgId(job.id, job.attempt) };
      }),
    );
    const failed = jobs.filter((_, i) => results[i]!.status === 'rejected');
    for (const job of jobs) {
      metrics.queueWait.observe({ pool: poolName }, Math.max(0, (now.getTime() - job.runnableAt.getTime()) / 1000));
    }
    metrics.dispatches.inc({ pool: poolName, outcome: 'published' }, jobs.length - failed.length);
    if (failed.length > 0) {
      metrics.dispatches.inc({ pool: poolName, outcome: 'failed' }, failed.length);
      await this.#opts.pool.query(UNMARK_SQL, [failed.map((j) => j.id)]);
      this.#opts.logger.warn({ pool: poolName, failed: failed.length }, 'dispatch publishes failed; jobs un-marked');
    }
  }

  #sleep(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.#opts.intervalMs);
      signal.addEventListener('abort', done, { once: true });
      this.#wakeUp = done;
    });
  }
}
