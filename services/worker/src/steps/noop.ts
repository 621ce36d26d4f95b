/** NOOP: does nothing, after an optional sleep; `fail: true` fails it (for tests and drills). */
import { NoopSpec, parseWith, StepType } from '@gantry/contracts';
import { delay } from '@gantry/runtime';
import { StepFailedError } from '../engine/job-control.js';
import type { StepHandler } from './types.js';

/** The NOOP step type. */
export function noopStep(): StepHandler<NoopSpec> {
  return {
    type: StepType.NOOP,
    parseSpec: (raw) => parseWith(NoopSpec, raw, 'NOOP spec'),
    async run(ctx) {
      const { spec } = ctx;
      // The signal is read only when there is something to interrupt: the engine makes it on first use.
      if (spec.sleepMs !== undefined && spec.sleepMs > 0 && !(await delay(spec.sleepMs, ctx.signal))) {
        throw ctx.signal.reason;
      }
      if (spec.fail) throw new StepFailedError('the step was told to fail', 'NOOP_FAILED');
    },
  };
}
