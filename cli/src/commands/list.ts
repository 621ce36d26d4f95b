/**
 * `gantry list`: the workspace's jobs from `GET /runner-jobs`, with the API's filters, one page
 * (`--limit`, `--cursor`) or every page (`--all`). A table by default, one JSON object per job
 * with `--json`; when more pages follow, the next `--cursor` is printed on stderr.
 */
import { JOB_STATUSES, Limits, Priority } from '@gantry/contracts';
import { intFlag, UsageError } from '../args.js';
import { API_FLAGS, apiClient } from '../api/client.js';
import type { JobPageView, JobSummaryView } from '../api/views.js';
import { formatAge, table } from '../render/table.js';
import type { Command } from './command.js';

const SORTS = ['-createdAt', 'createdAt', '-priority', 'priority'];

/** The columns of a job table. */
export const JOB_COLUMNS = [
  { header: 'ID', cell: (j: JobSummaryView) => j.id },
  { header: 'STATUS', cell: (j: JobSummaryView) => j.status },
  { header: 'TYPE', cell: (j: JobSummaryView) => j.type },
  { header: 'PRIO', cell: (j: JobSummaryView) => String(j.priority), right: true },
  { header: 'PROGRESS', cell: (j: JobSummaryView) => `${j.progress}%`, right: true },
  { header: 'ATTEMPT', cell: (j: JobSummaryView) => `${j.attempt}/${j.maxAttempts}`, right: true },
  { header: 'CREATED', cell: (j: JobSummaryView) => formatAge(j.createdAt) },
  { header: 'ERROR', cell: (j: JobSummaryView) => (j.error ? `${j.error.code}: ${j.error.message}`.slice(0, 60) : '') },
];

function statuses(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const list = text.split(',').map((s) => s.trim().toUpperCase()).filter((s) => s !== '');
  const unknown = list.filter((s) => !(JOB_STATUSES as readonly string[]).includes(s));
  if (list.length === 0 || unknown.length > 0) throw new UsageError(`--status takes ${JOB_STATUSES.join(', ')} (comma-separated)`);
  return list.join(',');
}

export const list: Command = {
  words: ['list'],
  usage: 'list [--status S[,S…]] [--type T] [--agent-task-id ID] [--priority-min N] [--priority-max N] [--sort ORDER] [--limit N] [--cursor C | --all] [--json]',
  summary: 'List the workspace’s jobs, newest first, filtered like GET /runner-jobs.',
  help: `  --status S[,S…]          PENDING, QUEUED, RUNNING, WAITING, COMPLETED, FAILED, CANCELLED
  --type T, --agent-task-id ID, --priority-min N, --priority-max N   (${Priority.min}–${Priority.max})
  --sort ORDER             ${SORTS.join(', ')} (default -createdAt)
  --limit N                jobs per page (1–${Limits.maxPageSize}, default ${Limits.defaultPageSize})
  --cursor C               the page after C (printed on stderr when more pages follow)
  --all                    every page
  --json                   one JSON object per job`,
  flags: {
    ...API_FLAGS,
    status: 'value',
    type: 'value',
    'agent-task-id': 'value',
    'priority-min': 'value',
    'priority-max': 'value',
    sort: 'value',
    limit: 'value',
    cursor: 'value',
    all: 'switch',
    json: 'switch',
  },
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
    if (args.switches.has('all') && args.values.has('cursor')) throw new UsageError('give --cursor or --all, not both');
    const sort = args.values.get('sort');
    if (sort !== undefined && !SORTS.includes(sort)) throw new UsageError(`--sort takes ${SORTS.join(', ')}`);
    const query = {
      status: statuses(args.values.get('status')),
      type: args.values.get('type'),
      agentTaskId: args.values.get('agent-task-id'),
      priorityMin: intFlag(args, 'priority-min', Priority.min, Priority.max),
      priorityMax: intFlag(args, 'priority-max', Priority.min, Priority.max),
      sort,
      limit: intFlag(args, 'limit', 1, Limits.maxPageSize),
    };
    const client = apiClient(args, io);
    const jobs: JobSummaryView[] = [];
    let cursor = args.values.get('cursor');
    for (;;) {
      const page = await client.get<JobPageView>('/runner-jobs', { ...query, cursor });
      jobs.push(...page.items);
      if (args.switches.has('json')) for (const j of page.items) io.out(JSON.stringify(j));
      cursor = page.nextCursor ?? undefined;
      if (!args.switches.has('all') || cursor === undefined) break;
    }
    if (!args.switches.has('json')) {
      if (jobs.length === 0) io.err('no jobs');
      else for (const line of table(jobs, JOB_COLUMNS)) io.out(line);
    }
    if (cursor !== undefined) io.err(`more jobs: --cursor ${cursor}`);
    return 0;
  },
};
