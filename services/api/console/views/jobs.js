/**
 * The job list: filters (status, type, priority range), keyset paging with the API's cursors,
 * the visible page re-read every few seconds for live statuses, and a form to submit a job
 * as JSON. The filters and the page survive navigation within the tab.
 */
import { call, query } from '../api.js';
import { badge, h, poll, replace, table, when } from '../dom.js';

const STATUSES = ['PENDING', 'QUEUED', 'RUNNING', 'WAITING', 'COMPLETED', 'FAILED', 'CANCELLED'];
const ACTIVE = 'PENDING,QUEUED,RUNNING,WAITING';
const PAGE_SIZE = 25;
const REFRESH_MS = 3000;

const EXAMPLE = JSON.stringify(
  {
    type: 'hello',
    priority: 50,
    steps: [
      { name: 'greet', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['echo', 'hello from the console'] } },
      { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
    ],
  },
  null,
  2,
);

/** Filters and paging position, kept while the tab lives. */
const state = { status: '', type: '', priorityMin: '', priorityMax: '', cursors: [undefined] };

function filterForm(onApply) {
  const status = h('select', { name: 'status', 'aria-label': 'Status' },
    h('option', { value: '' }, 'any status'),
    h('option', { value: ACTIVE }, 'active'),
    STATUSES.map((s) => h('option', { value: s }, s)));
  status.value = state.status;
  const type = h('input', { name: 'type', placeholder: 'type', value: state.type, 'aria-label': 'Type' });
  const min = h('input', { name: 'priorityMin', type: 'number', placeholder: 'priority ≥', value: state.priorityMin, 'aria-label': 'Minimum priority' });
  const max = h('input', { name: 'priorityMax', type: 'number', placeholder: 'priority ≤', value: state.priorityMax, 'aria-label': 'Maximum priority' });
  const form = h('form', { class: 'filters', id: 'filters' }, status, type, min, max, h('button', { type: 'submit' }, 'Apply'),
    h('button', { type: 'button', onclick: () => { form.reset(); status.value = ''; submit(); } }, 'Reset'));
  const submit = () => {
    Object.assign(state, { status: status.value, type: type.value.trim(), priorityMin: min.value, priorityMax: max.value, cursors: [undefined] });
    onApply();
  };
  form.addEventListener('submit', (e) => { e.preventDefault(); submit(); });
  return form;
}

function submitForm(ctx) {
  const text = h('textarea', { name: 'spec', rows: 12, spellcheck: 'false', 'aria-label': 'Job spec (JSON)' }, EXAMPLE);
  const form = h('form', { id: 'submit-form' }, text, h('div', {}, h('button', { type: 'submit' }, 'Submit job')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    ctx.clearProblem();
    let body;
    try {
      body = JSON.parse(text.value);
    } catch (err) {
      ctx.showProblem(new Error(`The spec is not JSON: ${err.message}`));
      return;
    }
    try {
      const job = await call('POST', '/runner-jobs', body);
      ctx.navigate(`#/jobs/${job.id}`);
    } catch (err) {
      ctx.showProblem(err);
    }
  });
  return h('details', { class: 'card' }, h('summary', {}, 'Submit a job'), form);
}

function jobRow(job) {
  return {
    attrs: { 'data-job-id': job.id },
    cells: [
      badge(job.status),
      h('a', { href: `#/jobs/${job.id}`, class: 'job-link' }, job.type),
      String(job.priority),
      h('progress', { max: 100, value: job.progress, title: `${job.progress} %` }),
      `${job.attempt}/${job.maxAttempts}`,
      when(job.createdAt),
      h('code', { class: 'muted' }, job.id.slice(0, 8)),
    ],
  };
}

/** Renders the job list into `root`. */
export function renderJobs(root, ctx) {
  const list = h('div', { id: 'job-list' }, h('p', { class: 'muted' }, 'Loading…'));
  const pageInfo = h('span', { class: 'muted' });
  const prev = h('button', { type: 'button', id: 'prev-page' }, '← Newer');
  const next = h('button', { type: 'button', id: 'next-page' }, 'Older →');
  let nextCursor = null;
  let latest = 0;

  const load = async () => {
    // A poll in flight when the filters change must not overwrite the newer answer.
    const mine = ++latest;
    const cursor = state.cursors[state.cursors.length - 1];
    const page = await call('GET', `/runner-jobs${query({
      status: state.status, type: state.type, priorityMin: state.priorityMin, priorityMax: state.priorityMax, limit: PAGE_SIZE, cursor,
    })}`, undefined, { signal: ctx.signal });
    if (ctx.signal.aborted || mine !== latest) return;
    nextCursor = page.nextCursor;
    replace(list, table(['Status', 'Type', 'Priority', 'Progress', 'Attempt', 'Created', 'Id'], page.items, jobRow, 'No jobs match.'));
    prev.disabled = state.cursors.length <= 1;
    next.disabled = nextCursor === null;
    pageInfo.textContent = `page ${state.cursors.length}`;
  };
  const reload = () => { ctx.clearProblem(); load().catch(ctx.showProblem); };
  prev.addEventListener('click', () => { if (state.cursors.length > 1) { state.cursors.pop(); reload(); } });
  next.addEventListener('click', () => { if (nextCursor !== null) { state.cursors.push(nextCursor); reload(); } });

  replace(root,
    h('h1', {}, 'Jobs'),
    submitForm(ctx),
    filterForm(reload),
    list,
    h('div', { class: 'pager' }, prev, pageInfo, next));
  void poll(load, REFRESH_MS, ctx.signal, ctx.showProblem);
}
