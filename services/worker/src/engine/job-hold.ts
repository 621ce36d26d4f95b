/**
 * A worker's hold on one job attempt: every write the worker makes for the attempt goes
 * through here, guarded by the attempt (the fencing token) and the expected status, through
 * the process's one group-committing JobWriter.
 *
 * Invariants:
 * - writes of the attempt are sent one after the other, in the order they were made (the next
 *   is sent once the previous committed), so a retried write can never overtake a later one;
 * - pieces added with {@link JobHold.add} travel with the next write, whatever it is, so a
 *   step's completion and the next step's start share one write; {@link JobHold.flushSoon}
 *   waits `batchDelayMs` before writing them, so that the quick steps of a job and its terminal
 *   move share one write too;
 * - the first refused write fences the hold: `onFenced` runs once, nothing more is sent, and
 *   every later write resolves `false`. So does a replayed write that keeps the attempt running
 *   whose answer shows the job moved on since it landed (queued again, or ended);
 * - a write that fails because PostgreSQL is unreachable is retried with backoff for up to
 *   `retryForMs`. The failed try may have committed before its answer was lost, so the retry is
 *   a replay (`JobWrite.replay`) with the same event ids: the store finds the first one and
 *   answers applied without writing the events twice. A write without events has nothing to
 *   find; a refusal of its retry that shows the job already in the intended state counts as
 *   applied. A write with events that keeps the job RUNNING is a replay from its first try (see
 *   `asReplay`): a try given up may still run after its retry;
 * - past `retryForMs`, or on any other failure, the hold is broken: `onBroken` runs once and
 *   every later write fails with the same error.
 */
import { isGantryError, type JobStatus } from '@gantry/contracts';
import { delay, type Logger } from '@gantry/runtime';
import { type EventInput, type JobPatch, type JobWrite, type JobWriter, type LoadedJob, type StepPatch, uuidv7, type WriteResult } from '@gantry/store';
import type { Holder, Move, Parts } from './writes.js';

/** Options of a {@link JobHold}. */
export interface JobHoldOptions {
  readonly writer: Pick<JobWriter, 'write'>;
  readonly jobId: string;
  readonly holder: Holder;
  /** Called once, when a write is refused. */
  readonly onFenced: () => void;
  /** Called once, when a write failed past `retryForMs` (or for good): nothing more is written. */
  readonly onBroken?: (err: unknown) => void;
  /** The attempt's logger (made on first use). */
  readonly logger: () => Logger;
  /** How long to retry a write while PostgreSQL is unavailable; default 60 s. */
  readonly retryForMs?: number;
  /** How long {@link JobHold.flushSoon} waits for more pieces; default 10 ms. */
  readonly batchDelayMs?: number;
}

const RUNNING: readonly JobStatus[] = ['RUNNING'];

/** See the module doc. */
export class JobHold {
  readonly #opts: JobHoldOptions;
  #events: EventInput[] = [];
  #steps: StepPatch[] = [];
  #set: JobPatch | undefined;
  #chain: Promise<unknown> = Promise.resolve();
  #fenced = false;
  #broken: unknown;
  #soon: NodeJS.Timeout | undefined;
  /** A {@link check} is queued or under way. */
  #checking = false;
  /** The job's last event sequence this hold saw stored (0: none yet): a replay looks only after it. */
  #seen = 0;
  /** Writes sent (for tests and metrics). */
  writes = 0;

  constructor(opts: JobHoldOptions) {
    this.#opts = opts;
  }

  /** True once a write was refused. */
  get fenced(): boolean {
    return this.#fenced;
  }

  /** True once a write failed for good (see `onBroken`). */
  get broken(): boolean {
    return this.#broken !== undefined;
  }

  /** True when pieces wait for the next write. */
  get hasPending(): boolean {
    return this.#events.length > 0 || this.#steps.length > 0 || this.#set !== undefined;
  }

  /** Adds events and step changes to the next write. */
  add(parts: Parts): void {
    for (const e of parts.events) this.#events.push(e);
    for (const s of parts.steps) this.#steps.push(s);
  }

  /** Adds job column changes to the next write. */
  patch(set: JobPatch): void {
    this.#set = { ...this.#set, ...set };
  }

  /**
   * Claims the job (row 4), the hold's first write; the claim also loads it (`JobWrite.load`),
   * so it costs one round trip. Nothing may be pending: a write that loads changes no step.
   * Resolves with the job as claimed, or undefined when refused.
   *
   * A claim whose answer was lost is sent again as a replay, which the store answers applied
   * (its event is stored) with the job as it is now. If the job moved on meanwhile (the
   * scheduler queued it again as a later attempt, or ended it), the attempt is no longer this
   * worker's, and the claim counts as refused: nothing may run.
   */
  async claim(move: Move): Promise<LoadedJob | undefined> {
    const result = await this.#enqueue(move, true);
    if (result === undefined) return undefined;
    const job = result.job;
    if (job === undefined) throw new Error(`the claim of job ${this.#opts.jobId} was answered without the job`);
    if (job.status === move.to && job.attempt === this.#opts.holder.attempt) return job;
    this.#fence(result);
    return undefined;
  }

  /** Writes what is pending, guarded by RUNNING; resolves at once with true when nothing is. */
  async flush(): Promise<boolean> {
    return this.hasPending ? this.probe() : this.#chain.then(() => !this.#fenced);
  }

  /**
   * Writes what is pending, or the guard alone when nothing is: resolves whether the attempt is
   * still this worker's. A refusal fences the hold, as any refused write does.
   */
  async probe(): Promise<boolean> {
    return (await this.#enqueue({ expect: RUNNING, events: [] })) !== undefined;
  }

  /**
   * Asks PostgreSQL whether the attempt is still this worker's: its guard written alone, once,
   * after the writes before it, and not again while one is queued. A refusal fences the hold. A
   * failure (PostgreSQL unreachable) tells nothing, and neither breaks the hold nor is retried:
   * while PostgreSQL is unreachable nobody can give the attempt to another worker either.
   */
  check(): void {
    if (this.#checking || this.#fenced || this.#broken !== undefined) return;
    this.#checking = true;
    const write: JobWrite = { jobId: this.#opts.jobId, attempt: this.#opts.holder.attempt, expect: RUNNING, events: [] };
    const sent = this.#chain.then(async () => {
      if (this.#fenced || this.#broken !== undefined) return;
      this.writes += 1;
      const result = await this.#opts.writer.write(write).catch(() => undefined);
      if (result !== undefined && !result.applied) this.#fence(result);
    }).finally(() => {
      this.#checking = false;
    });
    this.#chain = sent.catch(() => undefined);
  }

  /**
   * Writes what is pending after `batchDelayMs`, unless an earlier write takes it along. Errors
   * surface on the next awaited write.
   */
  flushSoon(): void {
    if (this.#soon !== undefined || !this.hasPending) return;
    this.#soon = setTimeout(() => {
      this.#soon = undefined;
      this.flush().catch(() => undefined);
    }, this.#opts.batchDelayMs ?? 10);
  }

  /** Drops a pending {@link flushSoon}; for an attempt that ends without another write. */
  close(): void {
    clearTimeout(this.#soon);
    this.#soon = undefined;
  }

  /** Ends the hold with `move` (rows 6–9, 14, 15) after what is pending. */
  async end(move: Move): Promise<boolean> {
    return (await this.#enqueue(move)) !== undefined;
  }

  /** Sends what is pending, then `move`, after the writes before it; resolves with its result, undefined when refused. */
  #enqueue(move: Pick<Move, 'expect' | 'events'> & Partial<Move>, load = false): Promise<WriteResult | undefined> {
    const { expect, to, set, events, steps = [] } = move;
    this.close();
    const pendingEvents = this.#events;
    const pendingSteps = this.#steps;
    const pendingSet = this.#set;
    this.#events = [];
    this.#steps = [];
    this.#set = undefined;
    const write: JobWrite = {
      jobId: this.#opts.jobId,
      attempt: this.#opts.holder.attempt,
      expect,
      ...(to === undefined ? {} : { to }),
      ...(pendingSet === undefined && set === undefined ? {} : { set: { ...pendingSet, ...set } }),
      steps: [...pendingSteps, ...steps],
      events: named([...pendingEvents, ...events]),
      ...(load ? { load } : {}),
    };
    const sent = this.#chain.then(() => this.#send(write));
    this.#chain = sent.catch(() => undefined);
    return sent;
  }

  async #send(write: JobWrite): Promise<WriteResult | undefined> {
    if (this.#broken !== undefined) throw this.#broken;
    if (this.#fenced) return undefined;
    const started = Date.now();
    const retryForMs = this.#opts.retryForMs ?? 60_000;
    for (let tries = 0; ; tries++) {
      let result: WriteResult;
      try {
        this.writes += 1;
        result = await this.#opts.writer.write(asReplay(write, tries) ? { ...write, replay: true, ...(this.#seen > 0 ? { replayAfter: this.#seen } : {}) } : write);
      } catch (err) {
        if (!isGantryError(err, 'UNAVAILABLE') || Date.now() - started > retryForMs) {
          if (this.#broken === undefined) {
            this.#broken = err;
            this.#opts.onBroken?.(err);
          }
          throw err;
        }
        this.#opts.logger().warn({ err, jobId: write.jobId }, 'job write failed; retrying');
        await delay(Math.min(5_000, 100 * 2 ** tries));
        continue;
      }
      // A replay (`tries > 0`, with events) is answered with the job as it is now: one that
      // landed before the attempt was superseded (queued again, ended by the scheduler) must
      // not let a write that keeps the attempt running carry on as if it still held the job.
      const movedOn = tries > 0 && write.to === undefined && !landed(write, result);
      for (const e of result.events) this.#seen = Math.max(this.#seen, e.sequence);
      if ((result.applied && !movedOn) || (tries > 0 && write.events.length === 0 && landed(write, result))) return result;
      this.#fence(result);
      return undefined;
    }
  }

  #fence(result: WriteResult): void {
    if (this.#fenced) return;
    this.#fenced = true;
    this.#opts.logger().info({ jobId: this.#opts.jobId, attempt: this.#opts.holder.attempt, found: { status: result.status, attempt: result.attempt } }, 'job write refused: the attempt is fenced');
    this.#opts.onFenced();
  }
}

/**
 * Whether the `tries`-th try of `write` goes as a replay: every retry of a write with events
 * (its try before may have committed), and a write with events that keeps the job RUNNING from
 * its first try. Such a write passes its guard again, so a try given up (no answer within the
 * pool's query timeout) that PostgreSQL runs later still, after its retry committed — its
 * packets held up in the network — would record its events twice; as a replay it finds them.
 * A write that moves the job is refused the second time by its own guard.
 */
function asReplay(write: JobWrite, tries: number): boolean {
  return write.events.length > 0 && (tries > 0 || write.to === undefined);
}

/** Gives every event its id now, so that a replay of the write carries the same ones. */
function named(events: EventInput[]): EventInput[] {
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    if (e.id === undefined) events[i] = { ...e, id: uuidv7() };
  }
  return events;
}

/** True when a refused retry finds the job where the write meant to take it. */
function landed(write: JobWrite, result: WriteResult): boolean {
  const status = write.to ?? write.expect[0];
  const attempt = write.set?.attempt ?? write.attempt;
  return result.status === status && result.attempt === attempt;
}
