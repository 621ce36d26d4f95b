/**
 * Runs one step's handler and says how it ended. The handler gets a signal that aborts on the
 * attempt's interruptions (cancel, timeout, drain, fencing) and on the step's own timeout
 * (the shorter of the step definition's `timeoutMs` and the handler's spec timeout).
 *
 * Invariants:
 * - an interruption decides the step's fate, whatever the handler throws afterwards;
 * - a handler that ignores its signal is given up on after the abort, so that an interruption
 *   always reaches the engine; its late result is ignored. It is given the longer of the worker's
 *   `killGraceMs` and its own stop grace (`StepHandler.stopGraceMs`, a COMMAND's spec
 *   `killGraceMs`), plus {@link STOP_MARGIN_MS}: a COMMAND's process group is SIGKILLed when its
 *   grace ends, so the step never ends while its processes still run (the attempt would then
 *   release its directory and its step user under them);
 * - events a handler emits after its step ended are dropped;
 * - the output recorded is valid JSON for PostgreSQL (no NUL) and at most `Limits.maxResultBytes`;
 *   an output that is not JSON (a BigInt, a cycle) fails the step, and so does a throw from the
 *   handler's spec hooks (`parseSpec`, `timeoutMs`, `stopGraceMs`): the attempt never ends
 *   without a word over a handler's mistake.
 */
import { jsonBytes, Limits, storableJson, storableText } from '@gantry/contracts';
import type { Logger } from '@gantry/runtime';
import type { JobHold } from './job-hold.js';
import type { WorkDir } from '../workdir.js';
import type { Json, JobInfo, ParkRequest, StepContext, StepHandler, StepRecord } from '../steps/types.js';
import { Interrupt, Interruption } from './abort.js';
import { boundedMessage, boundedText, classifyStepError, type StepFailure } from './job-control.js';
import type { Holder } from './writes.js';
import type { EventInput, LoadedStep } from '@gantry/store';

/** How a step run ended. */
export type StepRun =
  | { readonly kind: 'completed'; readonly durationMs: number; readonly record: StepRecord; readonly output: Json | undefined }
  | { readonly kind: 'parked'; readonly durationMs: number; readonly record: StepRecord; readonly park: ParkRequest }
  | { readonly kind: 'failed'; readonly durationMs: number; readonly record: StepRecord; readonly failure: StepFailure }
  | { readonly kind: 'interrupted'; readonly durationMs: number; readonly record: StepRecord; readonly interrupt: 'handback' | 'fenced' | 'abandoned' };

/** What {@link runStep} needs. */
export interface StepRunOptions {
  readonly handler: StepHandler<unknown> | undefined;
  readonly step: LoadedStep;
  readonly job: JobInfo;
  readonly hold: JobHold;
  readonly holder: Holder;
  readonly workDir: WorkDir;
  /** The attempt's interruptions that reach this step. */
  readonly interruption: Interruption;
  /** The attempt's logger (made on first use). */
  readonly logger: () => Logger;
  /** The worker's grace between a step's abort and giving up on it (see the module doc). */
  readonly killGraceMs: number;
}

/** Added to a step's stop grace before it is given up on: time for the kill to land and be seen. */
export const STOP_MARGIN_MS = 1_000;

type Settled = { kind: 'value'; value: unknown } | { kind: 'error'; error: unknown } | { kind: 'abandoned' };

/** Settles with `work`, or gives up `graceMs` after `interruption` interrupts. */
function settle(work: Promise<unknown>, interruption: Interruption, graceMs: number): Promise<Settled> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const off = interruption.onInterrupt(() => {
      timer = setTimeout(() => resolve({ kind: 'abandoned' }), graceMs);
    });
    const done = (s: Settled) => {
      clearTimeout(timer);
      off();
      resolve(s);
    };
    work.then((value) => done({ kind: 'value', value }), (error: unknown) => done({ kind: 'error', error }));
  });
}

/**
 * The step's output as stored: JSON (as `JSON.stringify` makes it) within the result limit, its
 * strings with what PostgreSQL cannot store (a NUL, an unpaired surrogate) replaced by U+FFFD.
 */
export function boundedOutput(output: unknown): Json | undefined {
  if (output === undefined) return undefined;
  const text = JSON.stringify(output);
  if (text === undefined) return undefined;
  const value = storableJson(JSON.parse(text) as Json);
  const bytes = jsonBytes(value);
  if (bytes > Limits.maxResultBytes) return { truncated: true, bytes };
  return value;
}

function timeoutOf(step: LoadedStep, handler: StepHandler<unknown>, spec: unknown): number | undefined {
  const own = handler.timeoutMs?.(spec);
  const values = [step.timeoutMs ?? undefined, own].filter((v): v is number => typeof v === 'number' && v > 0);
  return values.length === 0 ? undefined : Math.min(...values);
}

/** Runs `o.step`; see the module doc. */
/** PostgreSQL's `integer`, the type of a step's numeric columns. */
const INT4_MAX = 2_147_483_647;

/**
 * What a handler records, as its columns can hold it: the output tail as storable text, token
 * counts within 0..2³¹−1 (an AI endpoint's answer is anyone's number), an exit code that is
 * not a 32-bit integer left out. A value PostgreSQL refused would fail the step's write, and
 * with it the attempt.
 */
function storableRecord(fields: StepRecord): StepRecord {
  const out: StepRecord = { ...fields };
  if (typeof out.outputTail === 'string') out.outputTail = storableText(out.outputTail);
  for (const key of ['inputTokens', 'outputTokens'] as const) {
    const n = out[key];
    if (n !== undefined) out[key] = Number.isFinite(n) ? Math.min(INT4_MAX, Math.max(0, Math.trunc(n))) : 0;
  }
  if (typeof out.exitCode === 'number' && !(Number.isInteger(out.exitCode) && Math.abs(out.exitCode) <= INT4_MAX)) out.exitCode = null;
  return out;
}

export async function runStep(o: StepRunOptions): Promise<StepRun> {
  const started = performance.now();
  const record: StepRecord = {};
  const elapsed = () => Math.round(performance.now() - started);
  const failed = (failure: StepFailure): StepRun => ({ kind: 'failed', durationMs: elapsed(), record, failure });
  const { step, handler } = o;
  if (!handler) {
    return failed({ control: 'fail', error: { code: 'UNKNOWN_STEP_TYPE', message: `no handler for step type ${step.type} on this worker`, stepId: step.id, retryable: false } });
  }
  // The spec, and what the handler reads from it: a throw here fails the step without retry.
  let spec: unknown;
  let timeoutMs: number | undefined;
  let abortGraceMs: number;
  try {
    spec = handler.parseSpec(step.spec ?? {});
    timeoutMs = timeoutOf(step, handler, spec);
    abortGraceMs = Math.max(o.killGraceMs, handler.stopGraceMs?.(spec) ?? 0) + STOP_MARGIN_MS;
  } catch (err) {
    const f = classifyStepError(err, step.id);
    return failed({ ...f, error: { ...f.error, retryable: false } });
  }
  const interruption = new Interruption();
  const forward = o.interruption.onInterrupt((reason) => interruption.interrupt(reason));
  const timer = timeoutMs === undefined ? undefined : setTimeout(() => interruption.interrupt(new Interrupt('step_timeout')), timeoutMs);
  let open = true;
  const ctx: StepContext<unknown> = {
    spec,
    step: { id: step.id, name: step.name, phase: step.phase, type: step.type, ordinal: step.ordinal },
    job: o.job,
    workDir: o.workDir,
    get signal() {
      return interruption.signal;
    },
    get logger() {
      return o.logger();
    },
    // What a handler emits or records is anyone's text (an AI endpoint's model name, a tool's
    // output): made storable, so that PostgreSQL does not refuse the write that carries it.
    emit(event) {
      if (open) o.hold.add({ events: [{ ...event, payload: storableJson(event.payload), actor: o.holder.actor, attempt: o.holder.attempt, stepId: step.id } as EventInput], steps: [] });
    },
    async flush() {
      if (!(await o.hold.flush())) throw new Interrupt('fenced');
    },
    record(fields) {
      if (open) Object.assign(record, storableRecord(fields));
    },
  };
  let outcome: Settled;
  try {
    // An async wrapper, so that a handler that throws before returning its promise fails its step.
    outcome = interruption.kind !== undefined ? { kind: 'abandoned' } : await settle((async () => handler.run(ctx))(), interruption, abortGraceMs);
  } finally {
    open = false;
    clearTimeout(timer);
    forward();
  }
  // A step interrupted before its handler returned is interrupted, whatever the handler returned:
  // a command that exits 0 on SIGTERM (a shell's trap, a graceful shutdown) did not finish its
  // work, and recorded COMPLETED it would pass its timeout, or be skipped by the attempt after a
  // hand-back.
  if (outcome.kind === 'value' && interruption.kind === undefined) {
    const result = (outcome.value ?? {}) as { output?: unknown; park?: ParkRequest };
    if (result.park) {
      // A handler's park request is anyone's word: its prompt made storable and bounded as a
      // gate's is, its timeout a whole number of milliseconds within a job's longest.
      const { prompt, timeoutMs: waitMs } = result.park;
      if (waitMs !== undefined && !(Number.isSafeInteger(waitMs) && waitMs >= 1 && waitMs <= Limits.maxTimeoutMs)) {
        return failed({
          control: 'fail',
          error: { code: 'VALIDATION_FAILED', message: `the step asked to wait ${String(waitMs)} ms for approval: a whole number from 1 to ${Limits.maxTimeoutMs}`, stepId: step.id, retryable: false },
        });
      }
      const park = { ...(typeof prompt === 'string' ? { prompt: boundedText(prompt, Limits.maxReasonLength) } : {}), ...(waitMs === undefined ? {} : { timeoutMs: waitMs }) };
      return { kind: 'parked', durationMs: elapsed(), record, park };
    }
    let output: Json | undefined;
    try {
      output = boundedOutput(result.output);
    } catch (err) {
      // Not JSON (a BigInt, a cycle): the handler's mistake, which a retry repeats.
      const message = err instanceof Error ? err.message : String(err);
      return failed({ control: 'fail', error: { code: 'STEP_FAILED', message: boundedMessage(`the step's output is not JSON: ${message}`), stepId: step.id, retryable: false } });
    }
    return { kind: 'completed', durationMs: elapsed(), record, output };
  }
  if (outcome.kind === 'abandoned' && interruption.kind !== undefined) {
    o.logger().warn({ stepId: step.id, type: step.type }, 'step handler did not stop after its signal aborted; moving on');
  }
  switch (interruption.kind) {
    case 'handback':
      return { kind: 'interrupted', durationMs: elapsed(), record, interrupt: 'handback' };
    case 'fenced':
    case 'abandoned':
      return { kind: 'interrupted', durationMs: elapsed(), record, interrupt: interruption.kind };
    case 'cancel':
      return failed({ control: 'cancel', error: { code: 'CANCELLED', message: 'the job was cancelled', stepId: step.id, retryable: false } });
    case 'timeout':
      return failed({ control: 'fail', deadline: true, error: { code: 'TIMEOUT', message: 'the job ran past its timeout', stepId: step.id, retryable: true } });
    case 'step_timeout':
      return failed({ control: 'fail', error: { code: 'TIMEOUT', message: `the step ran past its timeout of ${timeoutMs} ms`, stepId: step.id, retryable: true } });
    default:
      return failed(classifyStepError(outcome.kind === 'error' ? outcome.error : new Error('step abandoned'), step.id));
  }
}
