/**
 * The queue view (`GET /queue`: the workspace's backlog per priority) and the workers view
 * (`GET /workers`: live workers and slots per pool), each re-read every few seconds.
 */
import { call } from '../api.js';
import { h, poll, replace, seconds, table, when } from '../dom.js';

const REFRESH_MS = 3000;

function figure(label, value, id) {
  return h('div', { class: 'figure', id }, h('div', { class: 'value' }, String(value)), h('div', { class: 'label' }, label));
}

/** Renders the queue view into `root`. */
export function renderQueue(root, ctx) {
  const figures = h('div', { class: 'figures', id: 'queue-figures' }, h('p', { class: 'muted' }, 'Loading…'));
  const priorities = h('div', { id: 'queue-priorities' });
  replace(root, h('h1', {}, 'Queue'), figures, h('h2', {}, 'Waiting by priority'), priorities);
  const load = async () => {
    const q = await call('GET', '/queue', undefined, { signal: ctx.signal });
    if (ctx.signal.aborted) return;
    replace(figures,
      figure('ready to run', q.depth, 'queue-depth'),
      figure('delayed', q.delayed, 'queue-delayed'),
      figure('running', q.running, 'queue-running'),
      figure('waiting for approval', q.waiting, 'queue-waiting'),
      figure('oldest wait', seconds(q.oldestWaitSeconds), 'queue-oldest'));
    replace(priorities, table(['Priority', 'Ready', 'Delayed', 'Oldest wait'], q.priorities,
      (p) => [String(p.priority), String(p.depth), String(p.delayed), seconds(p.oldestWaitSeconds)], 'Nothing waits.'));
  };
  void poll(load, REFRESH_MS, ctx.signal, ctx.showProblem);
}

/** Renders the workers view into `root`. */
export function renderWorkers(root, ctx) {
  const pools = h('div', { id: 'worker-pools' }, h('p', { class: 'muted' }, 'Loading…'));
  const workers = h('div', { id: 'worker-list' });
  replace(root, h('h1', {}, 'Workers'), h('h2', {}, 'Pools'), pools, h('h2', {}, 'Live workers'), workers);
  const load = async () => {
    const w = await call('GET', '/workers', undefined, { signal: ctx.signal });
    if (ctx.signal.aborted) return;
    replace(pools, table(['Pool', 'Workers', 'Slots', 'Busy'], w.pools,
      (p) => [p.pool, String(p.workers), String(p.slots), String(p.busy)], 'No pool has a live worker.'));
    replace(workers, table(['Worker', 'Pool', 'Busy / slots', 'State', 'Version', 'Started', 'Last heartbeat'], w.workers,
      (x) => ({
        attrs: { 'data-worker-id': x.workerId },
        cells: [h('code', {}, x.workerId), x.pool, `${x.busy} / ${x.slots}`, x.draining ? 'draining' : 'serving', x.version,
          when(x.startedAt), when(x.lastSeenAt)],
      }), 'No live workers.'));
  };
  void poll(load, REFRESH_MS, ctx.signal, ctx.showProblem);
}
