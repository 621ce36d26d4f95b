import { describe, expect, it } from 'vitest';
import { GantryError, Limits, unstorable } from '@gantry/contracts';
import { CancelJobError, classifyStepError, RetryLaterError, StepFailedError, UnrecoverableError } from './job-control.js';

describe('classifyStepError', () => {
  it('maps each job-control error onto the job', () => {
    expect(classifyStepError(new CancelJobError('stop'), 's')).toEqual({ control: 'cancel', error: { code: 'CANCELLED', message: 'stop', stepId: 's', retryable: false } });
    expect(classifyStepError(new UnrecoverableError('bad', 'BAD'), 's')).toEqual({ control: 'fail', error: { code: 'BAD', message: 'bad', stepId: 's', retryable: false } });
    expect(classifyStepError(new RetryLaterError(900, 'later'), 's')).toEqual({ control: 'fail', retryDelayMs: 900, error: { code: 'RETRY_LATER', message: 'later', stepId: 's', retryable: true } });
    expect(classifyStepError(new StepFailedError('meh', 'MEH'), 's').error).toMatchObject({ code: 'MEH', retryable: true });
  });

  it('treats other errors as retryable step failures, except invalid input', () => {
    expect(classifyStepError(new Error('boom'), 's').error).toEqual({ code: 'STEP_FAILED', message: 'boom', stepId: 's', retryable: true });
    expect(classifyStepError('text', 's').error.message).toBe('text');
    expect(classifyStepError(new GantryError('VALIDATION_FAILED', 'nope'), 's').error).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false });
    expect(classifyStepError(new GantryError('UNAVAILABLE'), 's').error).toMatchObject({ retryable: true });
  });

  it('bounds the message', () => {
    const long = classifyStepError(new Error('x'.repeat(10_000)), 's').error.message;
    expect(long.length).toBe(Limits.maxErrorMessageLength);
  });

  it('makes the message storable: no NUL, and no surrogate pair cut in two by the bound', () => {
    expect(classifyStepError(new Error('a\u0000b'), 's').error.message).toBe('a\ufffdb');
    // Cut at max - 1 units, the last kept unit would be the high half of an emoji.
    const cut = classifyStepError(new Error(`${'a'.repeat(Limits.maxErrorMessageLength - 2)}${'😀'.repeat(10)}`), 's').error.message;
    expect(cut).toBe(`${'a'.repeat(Limits.maxErrorMessageLength - 2)}…`);
    expect(unstorable(cut)).toBeUndefined();
    expect(classifyStepError(new CancelJobError('lone \ud83d half'), 's').error.message).toBe('lone \ufffd half');
  });

  it('refuses a retry delay out of range', () => {
    expect(() => new RetryLaterError(-1)).toThrow(RangeError);
    expect(() => new RetryLaterError(1.5)).toThrow(RangeError);
  });
});
