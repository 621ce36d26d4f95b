/**
 * The group-committing job writer. Many callers hand it JobWrites; it applies them in batches,
 * each in one transaction with a fixed number of statements (see `applyWrites`). An idle writer
 * sends a write at the end of the event-loop turn that made it, with whatever else that turn
 * wrote; while a flush is in flight, writes gather for up to `flushWindowMs` (or until
 * `maxBatch` are waiting), so company costs a lone write nothing and a busy writer still
 * batches. Each caller's promise settles after
 * the commit that carries its write, so "acked after commit" holds for every caller.
 *
 * Writes of one job are applied in the order they were handed in, one per flush: a job with a
 * write in this flush, or in one that has not committed yet, waits for the next. So every flush
 * is one statement in its own transaction: one round trip to PostgreSQL (and one more when a
 * replay in it was refused and is asked again; see `#apply`). If a batch fails for a reason
 * other than a lost connection, its writes are retried one per transaction so that one bad
 * write cannot fail its neighbours.
 */
import { GantryError } from '@gantry/contracts';
import { isConnectionError, translateDbError } from '../db/errors.js';
import { type Pool, withTransaction } from '../db/pool.js';
import { applyWrites, isRefusedReplay, isSequenceConflict } from './apply-writes.js';
import { assertWellFormed, type JobWrite, type WriteResult } from './job-write.js';

/** What one flush did, for metrics. */
export interface FlushReport {
  writes: number;
  events: number;
  durationMs: number;
  ok: boolean;
}

export interface JobWriterOptions {
  pool: Pool;
  /** How long the first write of a batch waits for company while a flush is in flight. Default 2 ms. */
  flushWindowMs?: number;
  /** Writes in one transaction at most. Default 500. */
  maxBatch?: number;
  /** Transactions in flight at once. Default 2. */
  maxConcurrentFlushes?: number;
  /** A flush with this many events or more appends them with COPY (one more round trip). Default 256. */
  bulkEventsFrom?: number;
  /**
   * Called after each commit with the applied writes' results (publish events here). It runs
   * after the writers' promises resolve; an exception it throws is passed to `onCommitError`.
   */
  onCommit?: (results: readonly WriteResult[]) => void;
  onCommitError?: (err: unknown) => void;
  /** Called after every flush. */
  onFlush?: (report: FlushReport) => void;
}

interface Pending {
  write: JobWrite;
  resolve: (result: WriteResult) => void;
  reject: (err: unknown) => void;
}

/** Times a flush is re-run after colliding with a concurrent append to one of its jobs. */
const MAX_CONFLICT_RETRIES = 10;

export class JobWriter {
  readonly name = 'job-writer';
  readonly #pool: Pool;
  readonly #flushWindowMs: number;
  readonly #maxBatch: number;
  readonly #maxConcurrent: number;
  readonly #bulkEventsFrom: number;
  readonly #onCommit: JobWriterOptions['onCommit'];
  readonly #onCommitError: JobWriterOptions['onCommitError'];
  readonly #onFlush: JobWriterOptions['onFlush'];
  #pending: Pending[] = [];
  readonly #busyJobs = new Set<string>();
  readonly #flushes = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #stopped = false;

  constructor(options: JobWriterOptions) {
    this.#pool = options.pool;
    this.#flushWindowMs = options.flushWindowMs ?? 2;
    this.#maxBatch = options.maxBatch ?? 500;
    this.#maxConcurrent = options.maxConcurrentFlushes ?? 2;
    this.#bulkEventsFrom = options.bulkEventsFrom ?? 256;
    this.#onCommit = options.onCommit;
    this.#onCommitError = options.onCommitError;
    this.#onFlush = options.onFlush;
  }

  /** Nothing to start: the writer is ready when constructed. Present for the lifecycle contract. */
  async start(): Promise<void> {}

  /** Applies `write` in the next batch; settles after its commit. */
  write(write: JobWrite): Promise<WriteResult> {
    if (this.#stopped) return Promise.reject(new GantryError('UNAVAILABLE', 'the job writer is stopped'));
    try {
      assertWellFormed(write);
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<WriteResult>((resolve, reject) => {
      this.#pending.push({ write, resolve, reject });
      this.#schedule();
    });
  }

  /** Applies several writes (in order) and settles when all have committed. */
  writeMany(writes: readonly JobWrite[]): Promise<WriteResult[]> {
    return Promise.all(writes.map((w) => this.write(w)));
  }

  /** Writes waiting for a flush. */
  get backlog(): number {
    return this.#pending.length;
  }

  /** Refuses new writes, flushes what is waiting, and waits for in-flight commits (up to `timeoutMs`). */
  async stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#stopped = true;
    const drained = this.#drain();
    const timeoutMs = options.timeoutMs ?? 10_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs);
    });
    const outcome = await Promise.race([drained.then(() => 'drained' as const), timedOut]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      const err = new GantryError('UNAVAILABLE', `the job writer stopped with writes unflushed after ${timeoutMs} ms`);
      for (const p of this.#pending.splice(0)) p.reject(err);
    }
  }

  async #drain(): Promise<void> {
    while (this.#pending.length > 0 || this.#flushes.size > 0) {
      this.#flushReady();
      if (this.#flushes.size > 0) await Promise.race(this.#flushes);
    }
  }

  #schedule(): void {
    if (this.#pending.length >= this.#maxBatch) {
      this.#flushReady();
      return;
    }
    if (this.#timer !== undefined) return;
    const fire = () => {
      this.#timer = undefined;
      this.#flushReady();
    };
    this.#timer = this.#flushes.size === 0 ? setImmediate(fire) : setTimeout(fire, this.#flushWindowMs);
  }

  /** Starts as many flushes as slots allow. */
  #flushReady(): void {
    while (this.#flushes.size < this.#maxConcurrent) {
      const batch = this.#takeBatch();
      if (batch.length === 0) return;
      const flush = this.#flush(batch).finally(() => {
        this.#flushes.delete(flush);
        for (const p of batch) this.#busyJobs.delete(p.write.jobId);
        if (this.#pending.length > 0) this.#schedule();
      });
      this.#flushes.add(flush);
    }
  }

  /** Takes up to maxBatch writes in order, leaving those of jobs with a flush in flight. */
  #takeBatch(): Pending[] {
    const batch: Pending[] = [];
    const rest: Pending[] = [];
    const blocked = new Set(this.#busyJobs);
    for (const p of this.#pending) {
      if (batch.length < this.#maxBatch && !blocked.has(p.write.jobId)) batch.push(p);
      else rest.push(p);
      blocked.add(p.write.jobId);
    }
    this.#pending = rest;
    for (const p of batch) this.#busyJobs.add(p.write.jobId);
    return batch;
  }

  /**
   * Applies a batch: each write's result, or the error of a refused replay's second ask. Throws
   * when nothing of the batch was written.
   *
   * Small flushes are one statement, committed alone; large ones bulk-load their events with
   * COPY in one transaction, which asks refused replays again inside it (all or nothing). A
   * refused replay of a small flush is asked again in a statement of its own after the first
   * committed: should that fail, only the replays fail with it, and nothing the first statement
   * committed is applied again.
   */
  async #apply(writes: readonly JobWrite[]): Promise<(WriteResult | Error)[]> {
    const events = writes.reduce((n, w) => n + w.events.length, 0);
    if (events >= this.#bulkEventsFrom) {
      return this.#untilNoConflict(() => withTransaction(this.#pool, (client) => applyWrites(client, writes, { bulkEvents: true })));
    }
    const results: (WriteResult | Error)[] = await this.#untilNoConflict(() => applyWrites(this.#pool, writes, { askReplaysAgain: false }));
    const refused = writes.flatMap((w, i) => (isRefusedReplay(w, results[i] as WriteResult) ? [i] : []));
    if (refused.length === 0) return results;
    try {
      const again = await this.#untilNoConflict(() => applyWrites(this.#pool, refused.map((i) => writes[i]!), { askReplaysAgain: false }));
      refused.forEach((i, k) => (results[i] = again[k]!));
    } catch (err) {
      for (const i of refused) results[i] = err instanceof Error ? err : new Error(String(err));
    }
    return results;
  }

  /** `apply()`, again when a concurrent append to one of its jobs collided (the statement wrote nothing). */
  async #untilNoConflict<T>(apply: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await apply();
      } catch (err) {
        if (!isSequenceConflict(err) || attempt >= MAX_CONFLICT_RETRIES) throw err;
      }
    }
  }

  /**
   * Applies a batch and settles its callers. The callbacks run after the commit, outside the
   * `try` that retries the batch write by write: a callback that throws must never make the
   * writer apply committed writes again (their events would be stored twice).
   */
  async #flush(batch: Pending[]): Promise<void> {
    const started = performance.now();
    let settled: (WriteResult | Error)[];
    try {
      settled = await this.#apply(batch.map((p) => p.write));
    } catch (err) {
      if (batch.length === 1 || isConnectionError(err)) {
        this.#report(batch.length, [], started, false);
        const translated = translateDbError(err);
        for (const p of batch) p.reject(translated);
        return;
      }
      // Write by write, each reporting its own commit or failure: one bad write among good ones
      // is one error, and the good ones' events are counted.
      for (const p of batch) await this.#flushAlone(p);
      return;
    }
    const results = settled.filter((r): r is WriteResult => !(r instanceof Error));
    this.#report(batch.length, results, started, true);
    this.#settle(batch, settled);
    this.#committed(results);
  }

  async #flushAlone(p: Pending): Promise<void> {
    const started = performance.now();
    let settled: (WriteResult | Error)[];
    try {
      settled = await this.#apply([p.write]);
    } catch (err) {
      this.#report(1, [], started, false);
      p.reject(translateDbError(err));
      return;
    }
    this.#report(1, settled.filter((r): r is WriteResult => !(r instanceof Error)), started, true);
    this.#settle([p], settled);
    this.#committed(settled.filter((r): r is WriteResult => !(r instanceof Error)));
  }

  /** Settles each caller with its write's result, or rejects it with its error. */
  #settle(batch: readonly Pending[], settled: readonly (WriteResult | Error)[]): void {
    batch.forEach((p, i) => {
      const r = settled[i]!;
      if (r instanceof Error) p.reject(translateDbError(r));
      else p.resolve(r);
    });
  }

  #committed(results: readonly WriteResult[]): void {
    if (!this.#onCommit) return;
    const applied = results.filter((r) => r.applied && r.events.length > 0);
    if (applied.length === 0) return;
    try {
      this.#onCommit(applied);
    } catch (err) {
      try {
        this.#onCommitError?.(err);
      } catch {
        // Nothing is left to tell: the writes committed and their callers have their answers.
      }
    }
  }

  #report(writes: number, results: readonly WriteResult[], started: number, ok: boolean): void {
    try {
      this.#onFlush?.({
        writes,
        events: results.reduce((n, r) => n + r.events.length, 0),
        durationMs: performance.now() - started,
        ok,
      });
    } catch {
      // A report is for metrics: its failure changes nothing that was written.
    }
  }
}
