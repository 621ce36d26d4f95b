/**
 * The console's entry: sign-in and sign-out, the problem banner, and a hash router over the
 * views (`#/jobs`, `#/jobs/<id>`, `#/queue`, `#/workers`). Each view is `render(root, ctx)`
 * and stops its polling and streams when `ctx.signal` aborts (on navigation or sign-out).
 */
import { ApiError, call, currentToken, signIn, signOut, UNAUTHENTICATED } from './api.js';
import { h, replace } from './dom.js';
import { renderJob } from './views/job.js';
import { renderJobs } from './views/jobs.js';
import { renderQueue, renderWorkers } from './views/system.js';

const $ = (id) => document.getElementById(id);
const banner = $('problem');
let current = null;

/** Shows an error (an ApiError's problem fields, or any error's message) in the banner. */
function showProblem(err) {
  const lines = [];
  if (err instanceof ApiError) {
    lines.push(h('strong', {}, err.status === 0 ? err.title : `${err.status} ${err.title}`));
    if (err.code) lines.push(' ', h('code', { class: 'code' }, err.code));
    if (err.detail) lines.push(h('div', { class: 'detail' }, err.detail));
    if (err.errors.length > 0) lines.push(h('ul', {}, err.errors.map((e) => h('li', {}, h('code', {}, e.path || '(body)'), ': ', e.message))));
    if (err.requestId) lines.push(h('div', { class: 'muted' }, `request ${err.requestId}`));
  } else {
    lines.push(h('strong', {}, 'Error'), h('div', { class: 'detail' }, String(err?.message ?? err)));
  }
  replace(banner, h('button', { type: 'button', class: 'close', 'aria-label': 'Dismiss', onclick: clearProblem }, '×'), lines);
  banner.hidden = false;
}

function clearProblem() {
  banner.hidden = true;
  banner.replaceChildren();
}

function route() {
  const path = location.hash.replace(/^#\/?/, '').split('?')[0];
  const [view, id] = path.split('/');
  if (view === 'jobs' && id) return { name: 'jobs', render: (root, ctx) => renderJob(root, ctx, decodeURIComponent(id)) };
  if (view === 'queue') return { name: 'queue', render: renderQueue };
  if (view === 'workers') return { name: 'workers', render: renderWorkers };
  return { name: 'jobs', render: renderJobs };
}

function show() {
  current?.abort();
  current = null;
  const signedIn = currentToken() !== null;
  $('sign-in').hidden = signedIn;
  $('nav').hidden = !signedIn;
  $('sign-out').hidden = !signedIn;
  const root = $('view');
  root.replaceChildren();
  if (!signedIn) {
    $('token').focus();
    return;
  }
  const { name, render } = route();
  for (const a of document.querySelectorAll('#nav a')) a.classList.toggle('active', a.dataset.view === name);
  current = new AbortController();
  const ctx = { signal: current.signal, showProblem, clearProblem, navigate: (hash) => { location.hash = hash; } };
  try {
    render(root, ctx);
  } catch (err) {
    showProblem(err);
  }
}

$('sign-in-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const token = $('token').value.trim();
  if (token === '') return;
  signIn(token, $('remember').checked);
  try {
    await call('GET', '/queue');
  } catch (err) {
    signOut();
    showProblem(err);
    return;
  }
  $('token').value = '';
  clearProblem();
  show();
});

$('sign-out').addEventListener('click', () => {
  signOut();
  clearProblem();
  show();
});

window.addEventListener(UNAUTHENTICATED, (e) => {
  signOut();
  show();
  showProblem(new ApiError(401, { title: 'Signed out', detail: `The API refused the token: ${e.detail ?? 'unauthenticated'}. Sign in again.` }));
});
window.addEventListener('hashchange', () => {
  clearProblem();
  show();
});
show();
