/**
 * The one small interface behind every step type. A handler parses its step's spec and runs
 * it; the engine does everything else (ordering, writes, events, timeouts, cancellation,
 * retries). Built-in and custom types are registered the same way (see `registry.ts` and the
 * README's "Adding a step type").
 *
 * A handler must honour `ctx.signal`: when it aborts (cancel, timeout, drain), stop the work and
 * return or throw soon; the engine records the interruption itself, whatever is thrown.
 */
import type { z } from 'zod';
import { type EventPayload, parseWith, type StepPhase } from '@gantry/contracts';
import type { Logger } from '@gantry/runtime';
import type { WorkDir } from '../workdir.js';

/** A JSON value, as stored in `job_steps.output` and carried by events. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** Event types a step may add to the job's log; the engine fills actor, step, attempt and sequence. */
export type StepEventType = 'step.output' | 'gate.passed' | 'gate.failed' | 'ai.tokens_used' | 'artifact.created';

/** One event a step adds. */
export type StepEvent = { [T in StepEventType]: { type: T; payload: EventPayload<T> } }[StepEventType];

/** Columns of the step row a handler may set besides its output. */
export interface StepRecord {
  exitCode?: number | null;
  /** The last bytes of the step's output (bounded by `Limits.maxOutputTailBytes`). */
  outputTail?: string | null;
  inputTokens?: number;
  outputTokens?: number;
}

/** The step being run. */
export interface StepInfo {
  readonly id: string;
  readonly name: string;
  readonly phase: StepPhase;
  readonly type: string;
  readonly ordinal: number;
}

/** The job the step belongs to. */
export interface JobInfo {
  readonly id: string;
  readonly workspaceId: string;
  readonly type: string;
  /** The attempt this run belongs to (the fencing token). */
  readonly attempt: number;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** What a handler gets to run one step. */
export interface StepContext<Spec> {
  /** The step's spec, as returned by {@link StepHandler.parseSpec}. */
  readonly spec: Spec;
  readonly step: StepInfo;
  readonly job: JobInfo;
  /** The job directory of this attempt, shared by its steps. */
  readonly workDir: WorkDir;
  /** Aborted on cancel, timeout, drain or fencing; its reason is an `Interrupt`. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** Adds an event; it is written with the step's next write (at the latest when the step ends). */
  emit(event: StepEvent): void;
  /** Writes the events emitted so far now (streamed output). Rejects if the job was taken away. */
  flush(): Promise<void>;
  /** Sets columns of the step row; written when the step ends, whether it passed or failed. */
  record(fields: StepRecord): void;
}

/** Parks the job (RUNNING → WAITING) until someone approves or rejects it, or `timeoutMs` passes. */
export interface ParkRequest {
  readonly prompt?: string;
  readonly timeoutMs?: number;
}

/** What a step produced. */
export interface StepResult {
  /** Recorded on the step row and in `step.completed`; also part of the job's result. */
  readonly output?: Json;
  /** Do not complete the step: park the job on it (approval gates). */
  readonly park?: ParkRequest;
}

/** A step type. */
export interface StepHandler<Spec = unknown> {
  /** Upper snake case: a built-in type or a custom one (`CUSTOM_STEP_TYPE_PATTERN`). */
  readonly type: string;
  /** Validates the stored spec; a throw fails the step without retry (VALIDATION_FAILED). */
  parseSpec(raw: unknown): Spec;
  /** The step's own timeout from its spec, if it has one; the engine enforces it. */
  timeoutMs?(spec: Spec): number | undefined;
  /**
   * How long the step may take to stop once its signal aborts, if its spec says (a COMMAND's
   * `killGraceMs`); the engine waits at least that long, and the worker's `killGraceMs`, before
   * it gives up on the step.
   */
  stopGraceMs?(spec: Spec): number | undefined;
  /** Runs the step. Throw to fail it (see `engine/job-control.ts` for the errors that steer the job). */
  run(ctx: StepContext<Spec>): Promise<StepResult | void>;
}

/** What {@link defineStepType} builds a handler from. */
export interface StepTypeDefinition<S extends z.ZodType> {
  readonly type: string;
  /** The spec schema; parse failures fail the step with VALIDATION_FAILED, naming the field. */
  readonly spec: S;
  /** Where the spec keeps its timeout, if it has one. */
  readonly timeoutMs?: (spec: z.infer<S>) => number | undefined;
  /** Where the spec keeps how long the step may take to stop, if it says (see {@link StepHandler.stopGraceMs}). */
  readonly stopGraceMs?: (spec: z.infer<S>) => number | undefined;
  readonly run: (ctx: StepContext<z.infer<S>>) => Promise<StepResult | void>;
}

/** Builds a {@link StepHandler} from a zod spec schema and a `run` function. */
export function defineStepType<S extends z.ZodType>(def: StepTypeDefinition<S>): StepHandler<z.infer<S>> {
  return {
    type: def.type,
    parseSpec: (raw) => parseWith(def.spec, raw, `${def.type} spec`) as z.infer<S>,
    ...(def.timeoutMs ? { timeoutMs: def.timeoutMs } : {}),
    ...(def.stopGraceMs ? { stopGraceMs: def.stopGraceMs } : {}),
    run: def.run,
  };
}
