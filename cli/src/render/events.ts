/**
 * JobEvents as lines for people: `describeEvent` says what one event means in a sentence, and
 * {@link OutputLines} turns a command's `step.output` chunks (which split lines anywhere) back
 * into whole lines, one buffer per step and stream. `logs` and `watch` (when stdout is not a
 * terminal) print exactly these lines.
 */
import type { JobEvent } from '@gantry/contracts';
import { formatDuration, formatTime, printable } from './table.js';

/** What the renderers know of a step: its name, looked up by id. */
export type StepNames = ReadonlyMap<string, string>;

function stepLabel(event: JobEvent, steps: StepNames): string {
  return event.stepId ? (steps.get(event.stepId) ?? event.stepId) : '?';
}

/**
 * One sentence for `event`, or null for step output (printed as lines by {@link OutputLines});
 * {@link printable}, as the names and texts in it come from the job.
 */
export function describeEvent(event: JobEvent, steps: StepNames): string | null {
  const sentence = sentenceOf(event, steps);
  return sentence === null ? null : printable(sentence);
}

function sentenceOf(event: JobEvent, steps: StepNames): string | null {
  const step = stepLabel(event, steps);
  switch (event.type) {
    case 'job.created':
      return `job created: ${event.payload.type}, priority ${event.payload.priority}, ${event.payload.stepCount} steps, pool ${event.payload.pool}`;
    case 'job.queued':
      return `job queued (attempt ${event.payload.attempt}, ${event.payload.reason.replace('_', ' ')})${event.payload.runAt ? ` to run at ${formatTime(event.payload.runAt)}` : ''}`;
    case 'job.started':
      return `job started on ${event.payload.workerId} (attempt ${event.payload.attempt})`;
    case 'job.progress':
      return `progress ${event.payload.progress}% (${event.payload.completedSteps}/${event.payload.totalSteps} steps)`;
    case 'job.waiting':
      return `job waiting for approval of step ${step}${event.payload.prompt ? `: ${event.payload.prompt}` : ''}`;
    case 'job.completed':
      return `job COMPLETED in ${formatDuration(event.payload.durationMs)}`;
    case 'job.failed':
      return `job FAILED after ${event.payload.attempts} attempt(s): ${event.payload.error.message} [${event.payload.error.code}]`;
    case 'job.cancel_requested':
      return `cancel requested${event.payload.reason ? `: ${event.payload.reason}` : ''}`;
    case 'job.cancelled':
      return `job CANCELLED (was ${event.payload.from})${event.payload.reason ? `: ${event.payload.reason}` : ''}`;
    case 'step.started':
      return `step ${event.payload.name} started (${event.payload.phase} ${event.payload.type})`;
    case 'step.output':
      return null;
    case 'step.completed':
      return `step ${step} completed in ${formatDuration(event.payload.durationMs)}${event.payload.exitCode === undefined ? '' : ` (exit ${event.payload.exitCode})`}`;
    case 'step.failed':
      return `step ${step} FAILED in ${formatDuration(event.payload.durationMs)}: ${event.payload.error.message} [${event.payload.error.code}]`;
    case 'step.skipped':
      return `step ${step} skipped: ${event.payload.reason}`;
    case 'gate.passed':
      return `gate ${step} passed${event.payload.decidedBy ? ` (approved by ${event.payload.decidedBy})` : ''}${event.payload.comment ? `: ${event.payload.comment}` : ''}`;
    case 'gate.failed': {
      const why = event.payload.comment ?? event.payload.reason;
      return `gate ${step} failed${event.payload.decidedBy ? ` (rejected by ${event.payload.decidedBy})` : ''}${why ? `: ${why}` : ''}`;
    }
    case 'ai.tokens_used':
      return `step ${step} used ${event.payload.inputTokens} input and ${event.payload.outputTokens} output tokens of ${event.payload.model}`;
    case 'artifact.created':
      return `artifact ${event.payload.name} stored (${event.payload.size} bytes, ${event.payload.contentType})`;
    case 'command.dead_lettered':
      return `${event.payload.command} command dead-lettered: ${event.payload.reason} [${event.payload.code}]`;
    default:
      return (event as { type: string }).type;
  }
}

/** A complete line of a step's output. */
export interface OutputLine {
  readonly step: string;
  readonly stream: 'stdout' | 'stderr';
  readonly text: string;
}

/** Reassembles `step.output` chunks into lines, per step and stream. */
export class OutputLines {
  readonly #partial = new Map<string, { step: string; stream: 'stdout' | 'stderr'; text: string }>();

  constructor(private readonly steps: StepNames) {}

  /** The complete lines `event` finishes (empty for any other event). */
  push(event: JobEvent): OutputLine[] {
    if (event.type !== 'step.output') return [];
    const key = `${event.stepId}:${event.payload.stream}`;
    const step = stepLabel(event, this.steps);
    const text = (this.#partial.get(key)?.text ?? '') + event.payload.chunk;
    const parts = text.split('\n');
    const rest = parts.pop()!;
    if (rest === '') this.#partial.delete(key);
    else this.#partial.set(key, { step, stream: event.payload.stream, text: rest });
    return parts.map((line) => ({ step, stream: event.payload.stream, text: line.replace(/\r$/, '') }));
  }

  /** The unfinished lines of `stepId` (all steps when absent), as lines; forgets them. */
  flush(stepId?: string | null): OutputLine[] {
    const out: OutputLine[] = [];
    for (const [key, part] of this.#partial) {
      if (stepId && !key.startsWith(`${stepId}:`)) continue;
      out.push({ step: part.step, stream: part.stream, text: part.text });
      this.#partial.delete(key);
    }
    return out;
  }
}

/** An output line as printed: `[build] compiling…`, `[build!] warning` for stderr ({@link printable}). */
export function formatOutputLine(line: OutputLine): string {
  return printable(`[${line.step}${line.stream === 'stderr' ? '!' : ''}] ${line.text}`);
}

/** An event line with its time: `12:00:01  step build started (EXECUTION COMMAND)`. */
export function timedLine(event: JobEvent, text: string): string {
  return `${formatTime(event.at).slice(11)}  ${text}`;
}
