/**
 * Runs a command for a COMMAND or GATE step: in the job directory (or a directory inside it),
 * as the job directory's owner (`WORKER_STEP_USER`), with an environment made only of the
 * allowlisted variables of the worker, a few GANTRY_* variables and the spec's own, its output streamed as `step.output` events, its process group
 * terminated when the step's signal aborts. Records the exit code and the output tail on the
 * step and counts the exit by class.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Limits } from '@gantry/contracts';
import { StepFailedError } from '../../engine/job-control.js';
import { interruptOf } from '../../engine/abort.js';
import type { ExitClass, WorkerMetrics } from '../../metrics.js';
import type { WorkerSettings } from '../../settings.js';
import type { StepContext } from '../types.js';
import { OutputCollector, type OutputSummary } from './output.js';
import { exitCodeOf, type ProcessExit, type ProcessGroups, spawnGroup } from './process-group.js';

/** What a command step needs from the worker. */
export interface CommandDeps {
  readonly settings: Pick<WorkerSettings, 'commandEnv' | 'killGraceMs' | 'outputFlushMs' | 'maxStepOutputBytes'>;
  readonly metrics: WorkerMetrics;
  readonly groups: ProcessGroups;
}

/** The command to run. */
export interface CommandInvocation {
  readonly argv: readonly string[];
  /** Relative to the job directory. */
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  readonly killGraceMs?: number;
}

/** How the command ended. */
export interface CommandResult extends OutputSummary {
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly exitClass: ExitClass;
}

/** The environment of a step's process: allowlisted worker variables, GANTRY_* of the step, then the spec's. */
export function commandEnv(
  inherited: Readonly<Record<string, string>>,
  ctx: Pick<StepContext<unknown>, 'job' | 'step'>,
  jobDir: string,
  own: Readonly<Record<string, string>> = {},
  tmpDir?: string,
): Record<string, string> {
  return {
    ...inherited,
    HOME: jobDir,
    ...(tmpDir === undefined ? {} : { TMPDIR: tmpDir, TMP: tmpDir, TEMP: tmpDir }),
    GANTRY_JOB_ID: ctx.job.id,
    GANTRY_WORKSPACE_ID: ctx.job.workspaceId,
    GANTRY_ATTEMPT: String(ctx.job.attempt),
    GANTRY_STEP_ID: ctx.step.id,
    GANTRY_STEP_NAME: ctx.step.name,
    GANTRY_JOB_DIR: jobDir,
    ...own,
  };
}

/** Writes `script` to the attempt's private directory and returns the argv that runs it with `shell`. */
export async function scriptArgv(ctx: StepContext<unknown>, shell: string, script: string): Promise<string[]> {
  await ctx.workDir.ensure();
  const path = join(ctx.workDir.metaPath, `${ctx.step.id}.script`);
  await writeFile(path, script, { mode: 0o500 });
  await ctx.workDir.handOver(path, 0o500);
  return [...shell.trim().split(/\s+/), path];
}

function exitClassOf(exit: ProcessExit, signal: AbortSignal): ExitClass {
  if (exit.spawnError) return 'spawn_failed';
  const interrupt = interruptOf(signal);
  if (interrupt === 'timeout' || interrupt === 'step_timeout') return 'timeout';
  if (interrupt !== undefined) return 'cancelled';
  if (exit.code === 0) return 'ok';
  return exit.code === null ? 'signal' : 'error';
}

/** Runs `cmd` for the step of `ctx`; see the module doc. Throws only when the process cannot start. */
export async function runCommand(ctx: StepContext<unknown>, cmd: CommandInvocation, deps: CommandDeps): Promise<CommandResult> {
  const jobDir = await ctx.workDir.ensure();
  let cwd = jobDir;
  if (cmd.cwd !== undefined) {
    cwd = await ctx.workDir.makeDir(cmd.cwd);
  }
  const killGraceMs = cmd.killGraceMs ?? deps.settings.killGraceMs;
  const collector = new OutputCollector({
    maxChunkBytes: Limits.maxOutputChunkBytes,
    maxTailBytes: Limits.maxOutputTailBytes,
    maxStreamedBytes: deps.settings.maxStepOutputBytes,
    flushEveryMs: deps.settings.outputFlushMs,
    emit: (e) => ctx.emit(e),
    flush: () => ctx.flush(),
  });
  const proc = spawnGroup(cmd.argv, {
    cwd,
    user: ctx.workDir.owner,
    env: commandEnv(deps.settings.commandEnv, ctx, jobDir, cmd.env, ctx.workDir.tmpPath),
    onOutput: (stream, chunk) => collector.write(stream, chunk),
    killGraceMs,
    groups: deps.groups,
  });
  const onAbort = () => proc.terminate(killGraceMs);
  if (ctx.signal.aborted) onAbort();
  else ctx.signal.addEventListener('abort', onAbort, { once: true });
  const exit = await proc.done;
  ctx.signal.removeEventListener('abort', onAbort);
  const summary = collector.end();
  const exitCode = exitCodeOf(exit);
  const exitClass = exitClassOf(exit, ctx.signal);
  ctx.record({ exitCode, outputTail: summary.tail });
  deps.metrics.commandExited(ctx.step.type, exitClass);
  if (exit.spawnError) {
    throw new StepFailedError(`cannot start ${JSON.stringify(cmd.argv[0])}: ${exit.spawnError.message}`, 'SPAWN_FAILED', { cause: exit.spawnError });
  }
  return { ...summary, exitCode, signal: exit.signal, exitClass };
}

/** "exited with code 2" or "was killed by SIGTERM". */
export function describeExit(result: Pick<CommandResult, 'exitCode' | 'signal'>): string {
  return result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`;
}
