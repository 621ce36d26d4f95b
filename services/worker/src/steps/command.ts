/**
 * COMMAND: an argv run without a shell, or a script run by the shell (interpreter) the spec
 * names, written to the attempt's private directory. The step fails when the command exits
 * non-zero (code `NON_ZERO_EXIT`, retryable under the job's policy).
 */
import { CommandSpec, parseWith, StepType } from '@gantry/contracts';
import { StepFailedError } from '../engine/job-control.js';
import { type CommandDeps, describeExit, runCommand, scriptArgv } from './process/run-command.js';
import type { StepHandler } from './types.js';

/** The COMMAND step type. */
export function commandStep(deps: CommandDeps): StepHandler<CommandSpec> {
  return {
    type: StepType.COMMAND,
    parseSpec: (raw) => parseWith(CommandSpec, raw, 'COMMAND spec'),
    timeoutMs: (spec) => spec.timeoutMs,
    stopGraceMs: (spec) => spec.killGraceMs,
    async run(ctx) {
      const { spec } = ctx;
      const argv = spec.argv ?? (await scriptArgv(ctx, spec.shell!, spec.script!));
      const result = await runCommand(ctx, { argv, cwd: spec.cwd, env: spec.env, killGraceMs: spec.killGraceMs }, deps);
      if (result.exitCode !== 0) throw new StepFailedError(`the command ${describeExit(result)}`, 'NON_ZERO_EXIT');
      return { output: { stdoutBytes: result.stdoutBytes, stderrBytes: result.stderrBytes, outputTruncated: result.truncated } };
    },
  };
}
