/**
 * Job-control errors: how a step handler steers its job. A handler throws one of these and
 * the engine maps it onto the protocol (docs/protocol.md):
 *
 * | thrown | step | job |
 * |---|---|---|
 * | {@link CancelJobError} | FAILED (`CANCELLED`) | remaining steps SKIPPED, CLEANUP runs, CANCELLED (row 9) |
 * | {@link RetryLaterError} | FAILED | CLEANUP runs, QUEUED after the handler's delay (row 7), FAILED when no attempt is left (row 8) |
 * | {@link UnrecoverableError} | FAILED | CLEANUP runs, FAILED without retry (row 8) |
 * | {@link StepFailedError}, any other error | FAILED | CLEANUP runs, retried under the job's backoff (row 7) or FAILED (row 8) |
 *
 * Errors are classified once, by {@link classifyStepError}; nothing else inspects them.
 */
import { GantryError, type JobError, Limits, storableText } from '@gantry/contracts';

/** A step failure with a stable code; retryable unless `retryable: false`. */
export class StepFailedError extends Error {
  override name = 'StepFailedError';
  /** A catalog code or a handler-defined one (upper snake case by convention). */
  readonly code: string;
  readonly retryable: boolean;

  constructor(message: string, code = 'STEP_FAILED', options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? true;
  }
}

/** Fails the step and the job without retry, whatever attempts are left. */
export class UnrecoverableError extends StepFailedError {
  override name = 'UnrecoverableError';
  constructor(message: string, code = 'STEP_FAILED', options: { cause?: unknown } = {}) {
    super(message, code, { ...options, retryable: false });
  }
}

/** Fails the step and retries the job after `delayMs` (instead of its backoff) if an attempt is left. */
export class RetryLaterError extends StepFailedError {
  override name = 'RetryLaterError';
  /** Milliseconds until the next attempt may run. */
  readonly delayMs: number;
  constructor(delayMs: number, message = `retry in ${delayMs} ms`, code = 'RETRY_LATER') {
    super(message, code, { retryable: true });
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > Limits.maxDelayMs) {
      throw new RangeError(`delayMs must be an integer in [0, ${Limits.maxDelayMs}]`);
    }
    this.delayMs = delayMs;
  }
}

/** Ends the job CANCELLED (after CLEANUP), as if a cancel had been requested. */
export class CancelJobError extends Error {
  override name = 'CancelJobError';
  constructor(readonly reason: string = 'cancelled by the step') {
    super(reason);
  }
}

/** How a failed step steers its job. */
export interface StepFailure {
  /** The error recorded on the step (and, naming the step, on the job). */
  readonly error: JobError;
  /** `fail`: retry under the policy if `error.retryable`; `cancel`: end CANCELLED. */
  readonly control: 'fail' | 'cancel';
  /** The handler's own delay before the next attempt (RetryLaterError). */
  readonly retryDelayMs?: number;
  /** The job's deadline caused it (not a step's own timeout): the attempt timed out. */
  readonly deadline?: true;
}

/**
 * A message as a job or step can store it: cut to the length the contracts allow (never inside a
 * surrogate pair), with what PostgreSQL cannot store (a NUL, an unpaired surrogate) replaced by
 * U+FFFD. A handler's message is anyone's text; refused by PostgreSQL, it would fail the write
 * that ends the attempt.
 */
export function boundedMessage(message: string): string {
  return boundedText(message, Limits.maxErrorMessageLength);
}

/** `text` as {@link boundedMessage} makes a message, cut to `max` characters. */
export function boundedText(text: string, max: number): string {
  let message = text;
  if (message.length > max) {
    let end = max - 1;
    if ((message.charCodeAt(end - 1) & 0xfc00) === 0xd800) end -= 1;
    message = `${message.slice(0, end)}…`;
  }
  return storableText(message);
}

/** A handler's error code as an error may carry it: never empty, within the contracts' length. */
function handlerCode(code: string): string {
  return code === '' ? 'STEP_FAILED' : boundedText(code, Limits.maxErrorCodeLength);
}

/** What `err`, thrown by the handler of step `stepId`, does to the step and its job. */
export function classifyStepError(err: unknown, stepId: string): StepFailure {
  if (err instanceof CancelJobError) {
    return { control: 'cancel', error: { code: 'CANCELLED', message: boundedMessage(err.reason), stepId, retryable: false } };
  }
  if (err instanceof StepFailedError) {
    return {
      control: 'fail',
      error: { code: handlerCode(err.code), message: boundedMessage(err.message), stepId, retryable: err.retryable },
      ...(err instanceof RetryLaterError ? { retryDelayMs: err.delayMs } : {}),
    };
  }
  if (err instanceof GantryError) {
    const retryable = !['VALIDATION_FAILED', 'LIMIT_EXCEEDED', 'PAYLOAD_TOO_LARGE'].includes(err.code);
    return { control: 'fail', error: { code: err.code, message: boundedMessage(err.message), stepId, retryable } };
  }
  const message = err instanceof Error ? err.message || err.name : String(err);
  return { control: 'fail', error: { code: 'STEP_FAILED', message: boundedMessage(message), stepId, retryable: true } };
}
