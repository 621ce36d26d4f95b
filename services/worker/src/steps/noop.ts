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
    async run({ spec, signal }) {
      if (spec.sleepMs !== undefined && spec.sleepMs > 0 && !(await delay(spec.sleepMs, signal))) {
        throw signal.reason;
      }
      if (spec.fail) throw new StepFailedError('the step was told to fail', 'NOOP_FAILED');
    },
  };
}
