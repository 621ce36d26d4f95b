/**
 * `gantry get ID`: one job with its steps — status, progress, attempts, times, error, and per
 * step its status, duration, exit code and error. `--json` prints the API's answer as it is
 * (with the first page of events).
 */
import { expectPositionals } from '../args.js';
import { API_FLAGS, apiClient, jobPath } from '../api/client.js';
import type { JobView, StepView } from '../api/views.js';
import { formatDuration, formatTime, printable, table } from '../render/table.js';
import type { Command } from './command.js';

const STEP_COLUMNS = [
  { header: '#', cell: (s: StepView) => String(s.ordinal), right: true },
  { header: 'STEP', cell: (s: StepView) => s.name },
  { header: 'PHASE', cell: (s: StepView) => s.phase },
  { header: 'TYPE', cell: (s: StepView) => s.type },
  { header: 'STATUS', cell: (s: StepView) => s.status },
  { header: 'DURATION', cell: (s: StepView) => formatDuration(s.durationMs), right: true },
  { header: 'EXIT', cell: (s: StepView) => (s.exitCode === null ? '' : String(s.exitCode)), right: true },
  { header: 'ID', cell: (s: StepView) => s.id },
  { header: 'ERROR', cell: (s: StepView) => (s.error ? `${s.error.code}: ${s.error.message}`.slice(0, 80) : '') },
];

/** The human description of a job: a few `key: value` lines, then its steps. */
export function describeJob(job: JobView): string[] {
  const field = (name: string, value: string) => `${`${name}:`.padEnd(11)} ${printable(value)}`;
  return [
    field('job', job.id),
    field('type', `${job.type}${job.agentTaskId ? ` (agent task ${job.agentTaskId})` : ''}`),
    field('status', `${job.status}  ${job.progress}%`),
    field('priority', `${job.priority}  pool ${job.pool}`),
    field('attempt', `${job.attempt} of at most ${job.maxAttempts}`),
    field('created', formatTime(job.createdAt)),
    field('started', formatTime(job.startedAt)),
    field('completed', formatTime(job.completedAt)),
    ...(job.error ? [field('error', `${job.error.code}: ${job.error.message}`)] : []),
    ...(job.result !== null && job.result !== undefined ? [field('result', JSON.stringify(job.result).slice(0, 200))] : []),
    '',
    ...table(job.steps, STEP_COLUMNS),
  ];
}

export const get: Command = {
  words: ['get'],
  usage: 'get ID [--json]',
  summary: 'Show a job and its steps.',
  help: '  --json   the job as the API answers it, with its steps and first page of events',
  flags: { ...API_FLAGS, json: 'switch' },
  async run(args, io) {
    const [id] = expectPositionals(args, ['ID']);
    const job = await apiClient(args, io).get<JobView>(jobPath(id!));
    if (args.switches.has('json')) io.out(JSON.stringify(job));
    else for (const line of describeJob(job)) io.out(line);
    return 0;
  },
};
