/**
 * One job: its summary, the step timeline (phase, type, status, duration), its output and its
 * events as they happen (from the event stream, see `sse.js`), and the actions that apply to
 * its status: cancel, retry, and approve or reject the approval gate it waits on. The job
 * itself is re-read shortly after each state event, never polled while the stream is live.
 */
import { call, jobPath } from '../api.js';
import { badge, clock, duration, h, replace, table, when } from '../dom.js';
import { followEvents } from '../sse.js';

const ACTIVE = new Set(['PENDING', 'QUEUED', 'RUNNING', 'WAITING']);
const RETRYABLE = new Set(['FAILED', 'CANCELLED']);
const MAX_EVENT_ROWS = 1000;
const STREAM_STATES = { live: '· live', reconnecting: '· reconnecting…', ended: '· stream ended' };

function summary(event) {
  const p = event.payload ?? {};
  if (event.type === 'step.output') return `${p.stream}: ${p.chunk.length} characters`;
  const text = JSON.stringify(p);
  return text.length > 160 ? `${text.slice(0, 157)}…` : text;
}

function stepDuration(step) {
  if (step.durationMs !== null) return duration(step.durationMs);
  if (step.startedAt && step.completedAt) return duration(Date.parse(step.completedAt) - Date.parse(step.startedAt));
  if (step.status === 'RUNNING' && step.startedAt) return `${duration(Date.now() - Date.parse(step.startedAt))} so far`;
  return '—';
}

function isWaitingGate(job, step) {
  return job.status === 'WAITING' && step.status === 'WAITING' && step.type === 'GATE' && step.spec?.kind === 'approval';
}

/** Renders job `id` into `root`. */
export function renderJob(root, ctx, id) {
  const { signal } = ctx;
  const head = h('section', { id: 'job-head', class: 'card' }, h('p', { class: 'muted' }, 'Loading…'));
  const actions = h('div', { id: 'job-actions', class: 'actions' });
  const notice = h('span', { id: 'action-notice', class: 'muted', role: 'status' });
  const steps = h('div', { id: 'job-steps' });
  const output = h('pre', { id: 'job-output', class: 'output' });
  const events = h('tbody', { id: 'job-events' });
  const streamState = h('span', { id: 'stream-state', class: 'muted' }, 'connecting…');
  let job = null;
  let lastSeq = 0;
  let outputStep = null;
  let following = false;
  let timer = null;
  signal.addEventListener('abort', () => clearTimeout(timer), { once: true });

  const stepName = (stepId) => job?.steps.find((s) => s.id === stepId)?.name ?? stepId?.slice(0, 8) ?? 'job';

  const renderHead = () => {
    const meta = [
      ['Id', h('code', {}, job.id)],
      ['Priority', String(job.priority)],
      ['Attempt', `${job.attempt} of ${job.maxAttempts}`],
      ['Progress', h('span', {}, h('progress', { max: 100, value: job.progress }), ` ${job.progress} %`)],
      ['Pool', job.pool],
      ['Worker', job.workerId ?? '—'],
      ['Created', when(job.createdAt)],
      ['Started', when(job.startedAt)],
      ['Finished', when(job.completedAt)],
    ];
    if (job.cancelRequestedAt) meta.push(['Cancel requested', when(job.cancelRequestedAt)]);
    if (job.error) meta.push(['Error', h('span', { class: 'error-text' }, h('code', {}, job.error.code), ' ', job.error.message)]);
    if (job.result !== null) meta.push(['Result', h('code', {}, JSON.stringify(job.result))]);
    replace(head,
      h('h1', {}, job.type, ' ', h('span', { id: 'job-status' }, badge(job.status))),
      h('dl', { class: 'meta' }, meta.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])),
      h('details', {}, h('summary', {}, 'Payload'), h('pre', { class: 'output' }, JSON.stringify(job.payload, null, 2))));
  };

  const act = async (label, method, path, body) => {
    ctx.clearProblem();
    for (const b of actions.querySelectorAll('button')) b.disabled = true;
    try {
      await call(method, path, body);
      notice.textContent = `${label}: accepted`;
      return true;
    } catch (err) {
      notice.textContent = '';
      ctx.showProblem(err);
      return false;
    } finally {
      await refresh().catch(ctx.showProblem);
    }
  };

  const retry = async () => {
    if (!(await act('Retry', 'POST', jobPath(id, '/retry')))) return;
    // The scheduler carries the retry out: follow the events again once the job has moved.
    for (let i = 0; i < 30 && !signal.aborted && RETRYABLE.has(job.status); i++) {
      await new Promise((r) => setTimeout(r, 1000));
      await refresh().catch(() => {});
    }
    void follow();
  };

  const renderActions = () => {
    const buttons = [];
    if (ACTIVE.has(job.status)) {
      const pending = job.status === 'RUNNING' && job.cancelRequestedAt !== null;
      buttons.push(h('button', { type: 'button', id: 'cancel-job', class: 'danger', disabled: pending,
        onclick: () => act('Cancel', 'POST', jobPath(id, '/cancel'), {}) }, pending ? 'Cancelling…' : 'Cancel'));
    }
    if (RETRYABLE.has(job.status)) buttons.push(h('button', { type: 'button', id: 'retry-job', onclick: retry }, 'Retry'));
    for (const step of job.steps.filter((s) => isWaitingGate(job, s))) {
      const comment = h('input', { placeholder: 'comment (optional)', 'aria-label': 'Comment', class: 'comment' });
      const decide = (decision) => {
        const body = comment.value.trim() === '' ? {} : { comment: comment.value.trim() };
        return act(decision === 'approve' ? 'Approve' : 'Reject', 'POST', jobPath(id, `/steps/${encodeURIComponent(step.id)}/${decision}`), body);
      };
      buttons.push(h('div', { class: 'gate', 'data-step-id': step.id },
        h('strong', {}, `Gate “${step.name}” waits for a decision`),
        step.spec.prompt ? h('div', { class: 'prompt' }, step.spec.prompt) : null,
        comment,
        h('button', { type: 'button', class: 'approve', onclick: () => decide('approve') }, 'Approve'),
        h('button', { type: 'button', class: 'danger reject', onclick: () => decide('reject') }, 'Reject')));
    }
    replace(actions, buttons, notice);
  };

  const renderSteps = () => {
    replace(steps, table(['#', 'Step', 'Phase', 'Type', 'Status', 'Duration', 'Started', 'Exit', 'Error'], job.steps, (s) => ({
      attrs: { 'data-step-id': s.id, 'data-step-status': s.status },
      cells: [String(s.ordinal + 1), s.name, s.phase, s.type, badge(s.status), stepDuration(s), when(s.startedAt),
        s.exitCode === null ? '—' : String(s.exitCode), s.error ? `${s.error.code}: ${s.error.message}` : ''],
    }), 'No steps.'));
  };

  async function refresh() {
    const detail = await call('GET', jobPath(id), undefined, { signal });
    if (signal.aborted) return;
    job = detail;
    renderHead();
    renderActions();
    renderSteps();
  }

  const scheduleRefresh = () => {
    if (timer !== null) return;
    timer = setTimeout(() => {
      timer = null;
      refresh().catch((err) => { if (!signal.aborted) ctx.showProblem(err); });
    }, 250);
  };

  const onEvent = (event) => {
    lastSeq = event.sequence;
    if (event.type === 'step.output') {
      if (event.stepId !== outputStep) {
        outputStep = event.stepId;
        output.append(h('span', { class: 'step-mark' }, `── ${stepName(event.stepId)} ──\n`));
      }
      output.append(h('span', { class: event.payload.stream }, event.payload.chunk));
    } else {
      scheduleRefresh();
    }
    events.append(h('tr', { 'data-type': event.type },
      h('td', {}, String(event.sequence)), h('td', { class: 'nowrap' }, clock(event.at)), h('td', {}, h('code', {}, event.type)),
      h('td', {}, event.stepId ? stepName(event.stepId) : ''), h('td', { class: 'muted nowrap', title: event.actor }, event.actor.length > 24 ? `${event.actor.slice(0, 20)}…` : event.actor), h('td', { class: 'payload' }, summary(event))));
    while (events.rows.length > MAX_EVENT_ROWS) events.deleteRow(0);
  };

  async function follow() {
    if (following || signal.aborted) return;
    following = true;
    try {
      await followEvents(id, { after: lastSeq, signal, onEvent, onState: (s) => { streamState.textContent = STREAM_STATES[s] ?? s; } });
    } catch (err) {
      if (!signal.aborted) ctx.showProblem(err);
    } finally {
      following = false;
    }
    if (!signal.aborted) scheduleRefresh();
  }

  replace(root,
    h('p', {}, h('a', { href: '#/jobs' }, '← Jobs')),
    head,
    actions,
    h('h2', {}, 'Steps'), steps,
    h('h2', {}, 'Output ', streamState), output,
    h('h2', {}, 'Events'),
    h('table', { class: 'events' }, h('thead', {}, h('tr', {}, ['#', 'At', 'Type', 'Step', 'Actor', 'Payload'].map((t) => h('th', {}, t)))), events));
  refresh().then(follow, (err) => { if (!signal.aborted) ctx.showProblem(err); });
}
