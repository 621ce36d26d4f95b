/**
 * GATE: a quality gate.
 * - `command`: runs an argv like COMMAND; exit 0 passes (`gate.passed`), anything else fails
 *   the step (`gate.failed`, code `GATE_FAILED`, retryable under the job's policy). Both events
 *   carry the end of the command's output as their comment.
 * - `approval`: parks the job (RUNNING → WAITING, protocol row 15) without holding a slot; the
 *   scheduler resumes it on approve (the gate step COMPLETED) or fails it on reject or timeout.
 */
import { GateSpec, Limits, parseWith, StepType } from '@gantry/contracts';
import { interruptOf } from '../engine/abort.js';
import { StepFailedError } from '../engine/job-control.js';
import { type CommandDeps, describeExit, runCommand } from './process/run-command.js';
import { tailUtf8 } from './process/output.js';
import type { StepHandler } from './types.js';

function comment(tail: string): string | undefined {
  const trimmed = tail.trimEnd();
  if (trimmed === '') return undefined;
  return trimmed.length <= Limits.maxReasonLength ? trimmed : trimmed.slice(trimmed.length - Limits.maxReasonLength);
}

/** The GATE step type. */
export function gateStep(deps: CommandDeps): StepHandler<GateSpec> {
  return {
    type: StepType.GATE,
    parseSpec: (raw) => parseWith(GateSpec, raw, 'GATE spec'),
    timeoutMs: (spec) => (spec.kind === 'command' ? spec.timeoutMs : undefined),
    async run(ctx) {
      const { spec } = ctx;
      if (spec.kind === 'approval') {
        return { park: { ...(spec.prompt === undefined ? {} : { prompt: spec.prompt }), ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }) } };
      }
      const result = await runCommand(ctx, { argv: spec.argv, cwd: spec.cwd, env: spec.env }, deps);
      if (interruptOf(ctx.signal) !== undefined) throw ctx.signal.reason;
      const said = comment(tailUtf8(result.tail, Limits.maxReasonLength * 2));
      if (result.exitCode === 0) {
        ctx.emit({ type: 'gate.passed', payload: { kind: 'command', ...(said === undefined ? {} : { comment: said }) } });
        return { output: { passed: true } };
      }
      const reason = `the gate command ${describeExit(result)}`;
      ctx.emit({ type: 'gate.failed', payload: { kind: 'command', reason, ...(said === undefined ? {} : { comment: said }) } });
      throw new StepFailedError(reason, 'GATE_FAILED');
    },
  };
}
