/**
 * What `gantry watch` shows while a job runs. On a terminal: the job's status and progress and
 * one line per step with a bar (full when done, sweeping while it runs, empty while pending),
 * redrawn in place, with the steps' output scrolling above it. Anywhere else (a pipe, a file,
 * CI logs): one plain line per event and per output line, nothing redrawn.
 */
import type { JobEvent, JobStatus, StepStatus } from '@gantry/contracts';
import type { CliIo } from '../io.js';
import { describeEvent, formatOutputLine, OutputLines, timedLine, type OutputLine } from './events.js';
import { busyBar, formatDuration, printable, progressBar } from './table.js';

/** The parts of a job (`GET /runner-jobs/:id`) the view starts from. */
export interface WatchedJob {
  readonly id: string;
  readonly type: string;
  readonly status: JobStatus;
  readonly progress: number;
  readonly steps: readonly { id: string; ordinal: number; name: string; phase: string; type: string }[];
}

/** Receives a job's events in order and shows them. */
export interface WatchView {
  apply(event: JobEvent): void;
  /** Prints what is still buffered and stops redrawing. */
  finish(): void;
}

interface StepState {
  readonly name: string;
  readonly phase: string;
  readonly type: string;
  status: StepStatus;
  startedAt: number | null;
  durationMs: number | null;
}

const ICONS: Record<StepStatus, string> = { PENDING: '·', RUNNING: '▸', WAITING: '⏸', COMPLETED: '✓', FAILED: '✗', SKIPPED: '–' };
const BAR_WIDTH = 20;
const TICK_MS = 200;

/** Builds the view for `job`: redrawn in place when `tty`, plain lines otherwise. */
export function createWatchView(job: WatchedJob, io: CliIo, tty: boolean): WatchView {
  // Step names come from the job: printable, so that the block's lines are the lines it counts.
  const names = new Map(job.steps.map((s) => [s.id, printable(s.name)]));
  const steps = new Map<string, StepState>(
    [...job.steps]
      .sort((a, b) => a.ordinal - b.ordinal)
      .map((s) => [s.id, { name: printable(s.name), phase: s.phase, type: s.type, status: 'PENDING', startedAt: null, durationMs: null }]),
  );
  const output = new OutputLines(names);
  let status: string = job.status;
  let progress = job.progress;
  let drawn = 0;
  let tick = 0;
  let timer: NodeJS.Timeout | undefined;

  const width = Math.max(...[...steps.values()].map((s) => s.name.length), 4);
  const block = (): string[] => [
    `job ${job.id}  ${printable(job.type)}  ${status}  ${progressBar(progress, BAR_WIDTH)} ${progress}%`,
    ...[...steps.values()].map((s) => {
      const elapsed = s.status === 'RUNNING' && s.startedAt !== null ? Date.now() - s.startedAt : s.durationMs;
      const bar =
        s.status === 'RUNNING' ? busyBar(tick, BAR_WIDTH) : progressBar(['COMPLETED', 'FAILED', 'SKIPPED'].includes(s.status) ? 100 : 0, BAR_WIDTH);
      const time = elapsed === null ? '' : formatDuration(elapsed);
      return `  ${ICONS[s.status]} ${s.name.padEnd(width)}  ${s.phase.padEnd(10)} ${s.type.padEnd(9)} ${bar} ${s.status === 'RUNNING' ? '' : s.status.toLowerCase()} ${time}`.trimEnd();
    }),
  ];
  const draw = (above: readonly string[]) => {
    const lines = [...above, ...block()];
    io.out(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${lines.join('\n')}`);
    drawn = lines.length - above.length;
  };
  const print = (lines: readonly string[]) => {
    if (tty) draw(lines);
    else for (const l of lines) io.out(l);
  };

  const track = (event: JobEvent) => {
    const step = event.stepId ? steps.get(event.stepId) : undefined;
    switch (event.type) {
      case 'step.started':
        if (step) Object.assign(step, { status: 'RUNNING', startedAt: Date.parse(event.at), durationMs: null });
        break;
      case 'step.completed':
      case 'step.failed':
        if (step) Object.assign(step, { status: event.type === 'step.completed' ? 'COMPLETED' : 'FAILED', durationMs: event.payload.durationMs });
        break;
      case 'step.skipped':
        if (step) step.status = 'SKIPPED';
        break;
      case 'job.queued':
        status = 'QUEUED';
        break;
      case 'job.started':
        status = 'RUNNING';
        break;
      case 'job.waiting':
        status = 'WAITING';
        if (step) step.status = 'WAITING';
        break;
      case 'job.progress':
        progress = event.payload.progress;
        break;
      case 'job.completed':
        status = 'COMPLETED';
        progress = 100;
        break;
      case 'job.failed':
        status = 'FAILED';
        break;
      case 'job.cancelled':
        status = 'CANCELLED';
        break;
      default:
        break;
    }
  };

  if (tty) {
    draw([]);
    timer = setInterval(() => {
      tick += 1;
      if ([...steps.values()].some((s) => s.status === 'RUNNING')) draw([]);
    }, TICK_MS);
    timer.unref();
  }

  return {
    apply(event) {
      track(event);
      const lines: OutputLine[] = output.push(event);
      if (event.type === 'step.completed' || event.type === 'step.failed') lines.push(...output.flush(event.stepId));
      const shown = lines.map(formatOutputLine);
      const text = describeEvent(event, names);
      if (text !== null && !tty) shown.push(timedLine(event, text));
      if (tty && text !== null && /^job (waiting|FAILED|CANCELLED)|^step .* FAILED|^gate /.test(text)) shown.push(text);
      if (event.type === 'job.waiting') shown.push(`  approve: gantry approve ${job.id} ${event.payload.stepId}   reject: gantry reject ${job.id} ${event.payload.stepId}`);
      if (shown.length > 0 || tty) print(shown);
    },
    finish() {
      clearInterval(timer);
      const rest = output.flush().map(formatOutputLine);
      if (tty) draw(rest);
      else for (const l of rest) io.out(l);
    },
  };
}
