/**
 * Runs one dispatched attempt of a job, from the claim to the write that ends the worker's
 * hold on it (docs/protocol.md rows 4–9, 12, 14, 15).
 *
 * ```
 *  claim (loads the job) ─► step ─► step … ─► CLEANUP steps ─► COMPLETED | QUEUED (retry) | FAILED | CANCELLED
 *            │               │ failed / cancel / timeout: remaining non-CLEANUP steps SKIPPED, CLEANUP runs
 *            │               │ approval gate: ─► WAITING (slot freed)
 *            │               │ drain: ─► QUEUED (handed back, CLEANUP does not run)
 *            └ refused: stale dispatch     any refused write: fenced, stop writing
 * ```
 *
 * Invariants:
 * - nothing runs before the claim committed; the job directory is removed when the attempt ends;
 * - CLEANUP steps run after a failure, a cancel or a timeout, and are interrupted only by fencing
 *   or by the hold breaking (PostgreSQL unreachable past `writeRetryMs`): then the attempt stops
 *   where it is, as nothing more it does can be recorded, and is left to recovery (ABANDONED).
 *   Past the job's deadline they run on only while the attempt is still this worker's: every
 *   `killGraceMs` (a second at least) the hold writes its guard alone ({@link JobHold.probe}), so that a CLEANUP step
 *   that hangs is fenced once the scheduler has ended the attempt (after its TIMEOUT_GRACE_MS),
 *   rather than holding its slot, its dispatch and its processes for ever;
 * - while the attempt runs, its guard is written alone every `holdCheckMs` too: an attempt the
 *   scheduler gave to another worker (this one silent to it, cut off from NATS) is fenced within
 *   that long, though its steps write nothing;
 * - a cancel that arrives before the terminal write ends the job CANCELLED;
 * - a step's completion and the next step's start travel in one write, written within
 *   `stepWriteDelayMs` unless a later write takes them along: a job of quick steps costs two
 *   writes, the claim (which is also the job's load) and the terminal move (with every step's
 *   events); the first step's start is written like the others, within `stepWriteDelayMs`.
 */
import { hasAttemptsLeft, type JobError, jsonBytes, Limits, retryDelayMs, StepPhase, StepStatus } from '@gantry/contracts';
import type { Logger } from '@gantry/runtime';
import type { JobWriter, LoadedJob, LoadedStep } from '@gantry/store';
import type { WorkerMetrics } from '../metrics.js';
import type { WorkerSettings } from '../settings.js';
import type { StepRegistry } from '../steps/registry.js';
import type { Json, JobInfo } from '../steps/types.js';
import type { StepUser, StepUserPool } from '../steps/process/step-user.js';
import { type AttemptDir, attemptDir } from '../workdir.js';
import { Interrupt, Interruption } from './abort.js';
import { boundedMessage, boundedText, type StepFailure } from './job-control.js';
import { JobHold } from './job-hold.js';
import { needsRun, progressOf, runOrder } from './step-order.js';
import { runStep, type StepRun } from './step-runner.js';
import type { AttemptOutcome } from './types.js';
import * as W from './writes.js';

/** What an attempt needs from its worker. */
export interface AttemptDeps {
  readonly writer: Pick<JobWriter, 'write'>;
  readonly registry: StepRegistry;
  readonly settings: Pick<WorkerSettings, 'workerId' | 'workDir' | 'killGraceMs' | 'progressIntervalMs' | 'stepWriteDelayMs' | 'holdCheckMs'> & Partial<Pick<WorkerSettings, 'writeRetryMs'>>;
  /** The users of job processes (WORKER_STEP_USER); none: the worker's own user. */
  readonly users?: StepUserPool;
  readonly metrics: WorkerMetrics;
  readonly logger: Logger;
  /** The reason of the job's latest cancel request (see `cancel-reason.ts`); none when absent. */
  readonly cancelReason?: (jobId: string) => Promise<string | null>;
  /** Told once whether the attempt was claimed, as soon as that is known (an express dispatch's answer). */
  readonly onClaim?: (claimed: boolean) => void;
}

/** Least milliseconds between two checks that an attempt past its deadline is still held (a kill grace of 0 would check without pause). */
const HOLD_CHECK_MIN_MS = 1_000;

/** Signals the worker sends a running attempt. */
export type AttemptSignal = 'cancel' | 'timeout' | 'handback';

/**
 * The result of a job: the outputs of its steps by name, null when none had one. Over
 * `Limits.maxJobResultBytes` its largest outputs are replaced, largest first, by stand-ins
 * (`{ truncated: true, bytes }`, as a step's own output over its limit is) until it fits: the
 * `job.completed` event carries it, and an event too large for NATS would reach no watcher.
 * Each step keeps its whole output.
 */
export function jobResult(outputs: ReadonlyMap<string, Json>): Json | null {
  if (outputs.size === 0) return null;
  const result: Record<string, Json> = Object.fromEntries(outputs);
  let bytes = jsonBytes(result);
  if (bytes <= Limits.maxJobResultBytes) return result;
  const largestFirst = [...outputs].map(([name, output]) => ({ name, size: jsonBytes(output) })).sort((a, b) => b.size - a.size);
  for (const { name, size } of largestFirst) {
    if (bytes <= Limits.maxJobResultBytes) break;
    const standIn = { truncated: true, bytes: size };
    result[name] = standIn;
    bytes -= size - jsonBytes(standIn);
  }
  return result;
}

/** One attempt of one job on this worker, as dispatched. Create it, then `run()` it once. */
export class AttemptRun {
  readonly jobId: string;
  readonly attempt: number;
  readonly #deps: AttemptDeps;
  #logger: Logger | undefined;
  readonly #main = new Interruption();
  readonly #hard = new Interruption();
  #cancelRequested = false;
  #cancelReason: string | null = null;
  #handBack = false;
  #failing = false;
  #inCleanup = false;
  #deadline: NodeJS.Timeout | undefined;
  #deadlinePassed = false;
  #hold: JobHold | undefined;
  #holdCheck: NodeJS.Timeout | undefined;
  /** The check, every `holdCheckMs` while the attempt runs, that it is still this worker's. */
  #heldCheck: NodeJS.Timeout | undefined;

  constructor(dispatched: { readonly jobId: string; readonly attempt: number }, deps: AttemptDeps) {
    this.#deps = deps;
    this.jobId = dispatched.jobId;
    this.attempt = dispatched.attempt;
  }

  /** The attempt's logger, made when something is first logged (most attempts log nothing). */
  readonly #log = (): Logger => (this.#logger ??= this.#deps.logger.child({ jobId: this.jobId, attempt: this.attempt }));

  /** Reacts to a cancel signal, a timeout or a drain (see `engine/abort.ts`). */
  signal(kind: AttemptSignal): void {
    if (kind === 'cancel') {
      this.#cancelRequested = true;
      this.#main.interrupt(new Interrupt('cancel'));
    } else if (kind === 'timeout') {
      this.#deadlinePassed = true;
      if (!this.#inCleanup) this.#main.interrupt(new Interrupt('timeout'));
      else this.#checkHoldWhileCleaning();
    } else if (!this.#inCleanup && !this.#failing && this.#main.kind === undefined) {
      this.#handBack = true;
      this.#main.interrupt(new Interrupt('handback'));
    }
  }

  /** The canceller's reason, for a cancel that came as a signal; null if it cannot be read. */
  async #requestedReason(): Promise<string | null> {
    try {
      return (await this.#deps.cancelReason?.(this.jobId)) ?? null;
    } catch (err) {
      this.#log().warn({ err }, 'could not read the cancel reason');
      return null;
    }
  }

  /** Past the deadline, in CLEANUP: checks every `killGraceMs` (a second at least) that the attempt is still held (see the module doc). */
  #checkHoldWhileCleaning(): void {
    const hold = this.#hold;
    if (hold === undefined || this.#holdCheck !== undefined) return;
    const everyMs = Math.max(HOLD_CHECK_MIN_MS, this.#deps.settings.killGraceMs);
    this.#holdCheck = setInterval(() => void hold.probe().catch(() => undefined), everyMs);
  }

  #fence(): void {
    this.#main.interrupt(new Interrupt('fenced'));
    this.#hard.interrupt(new Interrupt('fenced'));
  }

  /** Logs the attempt's abandonment (its writes keep failing); the scheduler recovers the job. */
  #abandoned(err?: unknown): 'ABANDONED' {
    this.#log().error({ ...(err === undefined ? {} : { err }) }, 'job writes keep failing; leaving the attempt to recovery');
    return 'ABANDONED';
  }

  /** The hold broke (its writes keep failing): every step stops, CLEANUP too, and the attempt is abandoned. */
  #abandon(): void {
    this.#main.interrupt(new Interrupt('abandoned'));
    this.#hard.interrupt(new Interrupt('abandoned'));
  }

  /**
   * Claims the attempt (the claim loads the job) and runs it; resolves once the write that ends
   * the hold committed, or at once when the claim was refused.
   */
  async run(): Promise<AttemptOutcome> {
    const { settings } = this.#deps;
    const holder: W.Holder = { actor: `worker:${settings.workerId}`, attempt: this.attempt };
    const hold = new JobHold({
      writer: this.#deps.writer, jobId: this.jobId, holder, onFenced: () => this.#fence(), onBroken: () => this.#abandon(), logger: this.#log,
      batchDelayMs: settings.stepWriteDelayMs, ...(settings.writeRetryMs === undefined ? {} : { retryForMs: settings.writeRetryMs }),
    });
    this.#hold = hold;
    let user: StepUser | undefined;
    let dir: AttemptDir | undefined;
    /** The claim committed: the attempt's user may have run something. */
    let ran = false;
    let claimed: boolean | undefined;
    const tell = (ok: boolean) => {
      if (claimed !== undefined) return;
      claimed = ok;
      this.#deps.onClaim?.(ok);
    };
    try {
      if (this.#handBack) return 'UNCLAIMED';
      // The user first: a worker whose users are all held back (their processes outlived a
      // sweep) must not claim what it cannot run. The dispatch comes back after a delay, to
      // this worker once a sweep has freed a user, or to another.
      try {
        user = this.#deps.users?.acquire();
      } catch (err) {
        this.#log().warn({ err }, 'no step user is free: the dispatch is given back');
        void this.#deps.users?.sweepHeld().catch(() => undefined);
        return 'ABANDONED';
      }
      const job = await hold.claim(W.claim(holder, settings.workerId));
      tell(job !== undefined);
      if (job === undefined) return 'REFUSED';
      ran = true;
      this.#deadline = setTimeout(() => this.signal('timeout'), job.timeoutMs);
      // A step that writes nothing would not learn that the attempt was given to another worker
      // (this one was lost to the scheduler, cut off from NATS): its guard is written alone, and
      // a refusal fences the attempt, which stops its steps. A check that fails (PostgreSQL
      // unreachable) is not retried and abandons nothing (`JobHold.check`).
      this.#heldCheck = setInterval(() => hold.check(), settings.holdCheckMs);
      dir = attemptDir(settings.workDir, job.id, job.attempt, user);
      return await this.#runClaimed(job, hold, holder, dir);
    } catch (err) {
      this.#fence();
      return this.#abandoned(err);
    } finally {
      tell(false); // not claimed: handed back before the claim, or its write failed
      clearTimeout(this.#deadline);
      clearInterval(this.#heldCheck);
      // No check of the hold starts after this one is cleared (a timeout signal while the
      // directory is removed below would start one that nobody clears).
      this.#hold = undefined;
      clearInterval(this.#holdCheck);
      hold.close();
      const clean = user === undefined || !ran || (await this.#deps.users!.sweep(user).catch((err: unknown) => {
        this.#log().warn({ err }, 'could not sweep the attempt user’s processes');
        return false;
      }));
      await dir?.remove().catch((err: unknown) => this.#log().warn({ err }, 'could not remove the job directory'));
      if (user) {
        if (!clean) this.#log().error({ uid: user.uid }, 'processes of the attempt’s user outlived its sweep: no other attempt gets the user until they are gone');
        this.#deps.users!.release(user, clean);
      }
    }
  }

  /** Runs the steps of a claimed attempt and ends the hold (see the module doc). */
  async #runClaimed(job: LoadedJob, hold: JobHold, holder: W.Holder, dir: AttemptDir): Promise<AttemptOutcome> {
    const { settings, metrics } = this.#deps;
    const info: JobInfo = { id: job.id, workspaceId: job.workspaceId, type: job.type, attempt: job.attempt, payload: job.payload };
    const startedAt = performance.now();
    const toRun = runOrder(job.steps).filter(needsRun);
    const outputs = new Map<string, Json>();
    for (const s of job.steps) if (s.status === StepStatus.COMPLETED && s.output !== null && s.output !== undefined) outputs.set(s.name, s.output as Json);
    let completed = job.steps.length - toRun.length;
    let lastProgressEvent = Date.now();
    let failure: StepFailure | undefined;

    const end = async (move: W.Move, outcome: AttemptOutcome): Promise<AttemptOutcome> => {
      // The attempt's last write: a check after it would find the job moved on, by this worker.
      clearInterval(this.#heldCheck);
      if (!(await hold.end(move))) return 'FENCED';
      metrics.attemptEnded(job.type, outcome, (performance.now() - startedAt) / 1000);
      return outcome;
    };

    for (let i = 0; i < toRun.length; i++) {
      const step = toRun[i]!;
      const cleanup = step.phase === StepPhase.CLEANUP;
      if (hold.fenced) return 'FENCED';
      if (hold.broken) return this.#abandoned();
      if (this.#handBack) return await end(W.handBack(holder, undefined), 'HANDED_BACK');
      if (!failure && this.#main.kind !== undefined) failure = this.#failureBetweenSteps();
      this.#failing = failure !== undefined;
      if (failure && !cleanup) {
        hold.add(W.stepSkipped(holder, step, failure.control === 'cancel' ? 'the job was cancelled' : 'an earlier step failed'));
        continue;
      }
      if (cleanup) {
        this.#inCleanup = true;
        if (this.#deadlinePassed) this.#checkHoldWhileCleaning();
      }
      hold.add(W.stepStarted(holder, step));
      hold.flushSoon();
      const run = await runStep({
        handler: this.#deps.registry.get(step.type), step, job: info, hold, holder, workDir: dir,
        interruption: cleanup ? this.#hard : this.#main, logger: this.#log,
        killGraceMs: settings.killGraceMs,
      });
      metrics.stepEnded(step.phase, step.type, stepStatusOf(run), run.durationMs / 1000);
      if (run.kind === 'interrupted') {
        if (run.interrupt === 'fenced') return 'FENCED';
        if (run.interrupt === 'abandoned') return this.#abandoned();
        return await end(W.handBack(holder, step.id), 'HANDED_BACK');
      }
      if (run.kind === 'parked' && !failure) {
        hold.add({ events: [], steps: [{ stepId: step.id, ...run.record }] });
        return await end(W.park(holder, step.id, run.park.prompt, run.park.timeoutMs, Date.now()), 'WAITING');
      }
      if (run.kind === 'completed') {
        completed += 1;
        if (run.output !== undefined) outputs.set(step.name, run.output);
        hold.add(W.stepCompleted(holder, step, run.durationMs, run.record, run.output));
        if (!failure && i < toRun.length - 1) {
          const due = settings.progressIntervalMs === 0 || Date.now() - lastProgressEvent >= settings.progressIntervalMs;
          if (due) lastProgressEvent = Date.now();
          const p = W.progressed(holder, progressOf(completed, job.steps.length), completed, job.steps.length, due);
          hold.patch(p.set);
          hold.add({ events: p.events, steps: [] });
        }
        continue;
      }
      const stepFailure: StepFailure = run.kind === 'failed' ? run.failure : parkedAfterFailure(step);
      hold.add(W.stepFailed(holder, step, run.durationMs, run.record, stepFailure.error));
      if (stepFailure.control === 'cancel' && !this.#cancelRequested) {
        this.#cancelRequested = true;
        // A job's cancel reason is shorter than a step's error message may be.
        this.#cancelReason = boundedText(stepFailure.error.message, Limits.maxReasonLength);
      }
      failure ??= stepFailure;
      this.#failing = true;
    }
    if (hold.fenced) return 'FENCED';
    if (this.#handBack && !this.#failing) return await end(W.handBack(holder, undefined), 'HANDED_BACK');
    if (this.#cancelRequested) return await end(W.cancel(holder, this.#cancelReason ?? (await this.#requestedReason())), 'CANCELLED');
    if (!failure) return await end(W.complete(holder, Math.round(performance.now() - startedAt), jobResult(outputs)), 'COMPLETED');
    const error = jobError(failure, job.steps);
    const outcome = error.retryable !== false && hasAttemptsLeft(job.failures + 1, job.maxAttempts)
      ? await end(W.retry(holder, job, error, failure.retryDelayMs ?? retryDelayMs(job.backoff, job.failures + 1), Date.now()), 'RETRY')
      : await end(W.fail(holder, job, error), 'FAILED');
    // The job's deadline decided the attempt (not a step's own timeout, nor a failure before it):
    // counted once, by the attempt's end.
    if (outcome !== 'FENCED' && failure.deadline === true) metrics.attemptTimedOut();
    return outcome;
  }

  #failureBetweenSteps(): StepFailure {
    if (this.#cancelRequested) {
      return { control: 'cancel', error: { code: 'CANCELLED', message: 'the job was cancelled', retryable: false } };
    }
    return { control: 'fail', deadline: true, error: { code: 'TIMEOUT', message: 'the job ran past its timeout', retryable: true } };
  }
}

function stepStatusOf(run: StepRun): string {
  switch (run.kind) {
    case 'completed':
      return StepStatus.COMPLETED;
    case 'parked':
      return StepStatus.WAITING;
    case 'failed':
      return StepStatus.FAILED;
    default:
      return 'INTERRUPTED';
  }
}

function parkedAfterFailure(step: LoadedStep): StepFailure {
  return {
    control: 'fail',
    error: { code: 'INVALID_TRANSITION', message: 'a failing job cannot wait for an approval', stepId: step.id, retryable: false },
  };
}

/** The job's error for a failed attempt: TIMEOUT as such, any other step failure as STEP_FAILED naming the step. */
function jobError(failure: StepFailure, steps: readonly LoadedStep[]): JobError {
  const { error } = failure;
  const step = steps.find((s) => s.id === error.stepId);
  const retryable = error.retryable !== false;
  if (error.code === 'TIMEOUT' || step === undefined) return { ...error, retryable };
  return {
    code: 'STEP_FAILED',
    message: boundedMessage(`step ${JSON.stringify(step.name)} failed (${error.code}): ${error.message}`),
    stepId: step.id,
    retryable,
  };
}
