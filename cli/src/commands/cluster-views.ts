/**
 * `gantry queue` and `gantry workers`: what waits in the workspace's backlog (per priority, with
 * the oldest wait) and which workers are alive with their slots (per worker and per pool).
 */
import { UsageError } from '../args.js';
import { API_FLAGS, apiClient } from '../api/client.js';
import type { QueueViewBody, WorkersViewBody } from '../api/views.js';
import { formatAge, formatDuration, table } from '../render/table.js';
import type { Command } from './command.js';

function noPositionals(positionals: readonly string[]): void {
  if (positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(positionals[0])}`);
}

const seconds = (s: number | null) => (s === null ? '-' : formatDuration(s * 1_000));

export const queue: Command = {
  words: ['queue'],
  usage: 'queue [--json]',
  summary: 'Show the workspace’s backlog: jobs ready, delayed, running and waiting, per priority.',
  flags: { ...API_FLAGS, json: 'switch' },
  async run(args, io) {
    noPositionals(args.positionals);
    const q = await apiClient(args, io).get<QueueViewBody>('/queue');
    if (args.switches.has('json')) {
      io.out(JSON.stringify(q));
      return 0;
    }
    io.out(`ready ${q.depth}  delayed ${q.delayed}  running ${q.running}  waiting ${q.waiting}  oldest wait ${seconds(q.oldestWaitSeconds)}`);
    if (q.priorities.length > 0) {
      io.out('');
      const columns = [
        { header: 'PRIORITY', cell: (p: QueueViewBody['priorities'][number]) => String(p.priority), right: true },
        { header: 'READY', cell: (p: QueueViewBody['priorities'][number]) => String(p.depth), right: true },
        { header: 'DELAYED', cell: (p: QueueViewBody['priorities'][number]) => String(p.delayed), right: true },
        { header: 'OLDEST WAIT', cell: (p: QueueViewBody['priorities'][number]) => seconds(p.oldestWaitSeconds), right: true },
      ];
      for (const line of table(q.priorities, columns)) io.out(line);
    }
    return 0;
  },
};

type WorkerRow = WorkersViewBody['workers'][number];

export const workers: Command = {
  words: ['workers'],
  usage: 'workers [--json]',
  summary: 'List the live workers with their pool and slots, and the totals per pool.',
  flags: { ...API_FLAGS, json: 'switch' },
  async run(args, io) {
    noPositionals(args.positionals);
    const w = await apiClient(args, io).get<WorkersViewBody>('/workers');
    if (args.switches.has('json')) {
      io.out(JSON.stringify(w));
      return 0;
    }
    if (w.workers.length === 0) {
      io.err('no live workers');
      return 0;
    }
    const columns = [
      { header: 'WORKER', cell: (r: WorkerRow) => r.workerId },
      { header: 'POOL', cell: (r: WorkerRow) => r.pool },
      { header: 'BUSY', cell: (r: WorkerRow) => `${r.busy}/${r.slots}`, right: true },
      { header: 'STATE', cell: (r: WorkerRow) => (r.draining ? 'draining' : 'serving') },
      { header: 'VERSION', cell: (r: WorkerRow) => r.version },
      { header: 'UP SINCE', cell: (r: WorkerRow) => formatAge(r.startedAt) },
      { header: 'LAST SEEN', cell: (r: WorkerRow) => formatAge(r.lastSeenAt) },
    ];
    for (const line of table(w.workers, columns)) io.out(line);
    io.out('');
    for (const p of w.pools) io.out(`pool ${p.pool}: ${p.workers} worker(s), ${p.busy}/${p.slots} slots busy`);
    return 0;
  },
};
