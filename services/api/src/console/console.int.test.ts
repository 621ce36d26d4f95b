/**
 * The web console end to end: a real API (in process), a real scheduler and worker (processes),
 * the real PostgreSQL and NATS, and headless Chromium driving the page. Every wait is on a
 * condition the page shows; the statuses waited for only appear after the real transitions.
 */
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { JobSpecInput } from '@gantry/contracts';
import { createTestNamespace, createToken, createWorkspace, startService, useTestDatabase, type ServiceProcess, type TestNamespace } from '@gantry/testkit';
import { startTestApi, type TestApi } from '../testing/harness.js';

const CHROMIUM = '/usr/bin/chromium';
/** Generous: the box is small and shared; nothing here waits this long when things work. */
const WAIT = { timeout: 45_000 };

const db = useTestDatabase();
let ns: TestNamespace;
let api: TestApi;
let token: string;
let browser: Browser;
let page: Page;
const services: ServiceProcess[] = [];
const pageErrors: string[] = [];
const workerId = `console-w-${process.pid}`;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run scripts/ensure-tools.sh (as root) to install Debian's chromium`);
  ns = await createTestNamespace({ provision: true });
  api = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc });
  const workspaceId = await createWorkspace(api.pool);
  token = await createToken(api.pool, workspaceId, { scopes: ['jobs:admin'] });
  const env = { DATABASE_URL: db.url, GANTRY_NAMESPACE: ns.namespace, METRICS_PORT: '0', HTTP_HOST: '127.0.0.1' };
  services.push(startService('scheduler', env), startService('worker', { ...env, WORKER_ID: workerId, WORKER_CONCURRENCY: '4' }));
  const [launched] = await Promise.all([
    chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] }),
    ...services.map((s) => s.waitForLog((l) => l.msg === 'service started', 90_000)),
  ]);
  browser = launched;
  page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(WAIT.timeout);
  page.on('pageerror', (err) => pageErrors.push(err.message));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) pageErrors.push(msg.text());
  });
}, 150_000);

afterAll(async () => {
  await browser?.close();
  for (const s of services) await s.stop('SIGTERM');
  await api?.stop();
  await ns?.cleanup();
});

async function submit(spec: JobSpecInput): Promise<string> {
  const res = await api.call('POST', '/runner-jobs', { token, body: spec });
  expect(res.status, res.text).toBe(202);
  return (res.body as { id: string }).id;
}

async function dbStatus(id: string): Promise<string> {
  return (await api.pool.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [id])).rows[0]!.status;
}

async function eventTypes(id: string): Promise<string[]> {
  const { rows } = await api.pool.query<{ type: string }>('SELECT type FROM job_events WHERE job_id = $1 ORDER BY sequence', [id]);
  return rows.map((r) => r.type);
}

/** Items in the page's sessionStorage and localStorage (the token is the only thing it keeps). */
const storedItems = () => page.evaluate<number>('sessionStorage.length + localStorage.length');

const status = (s: string) => page.locator(`#job-status [data-status="${s}"]`);

describe('the console shell', () => {
  it('is public, carries a strict CSP, revalidates by ETag, and serves nothing outside its files', async () => {
    const shell = await fetch(`${api.url}/ui`);
    expect(shell.status).toBe(200);
    expect(shell.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = shell.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'none'");
    expect(csp).not.toContain('unsafe-inline');
    expect(shell.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await shell.text()).toContain('<script type="module" src="/ui/app.js">');

    const script = await fetch(`${api.url}/ui/views/job.js`);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect((await fetch(`${api.url}/ui/views/job.js`, { headers: { 'if-none-match': script.headers.get('etag')! } })).status).toBe(304);

    expect(await (await fetch(`${api.url}/ui/`)).text()).toContain('<script type="module" src="/ui/app.js">');
    for (const path of ['/ui/nope.js', '/ui/..%2Fpackage.json', '/ui/%2e%2e/src/main.ts']) {
      const res = await fetch(`${api.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    }
  });
});

describe('the console in a browser', () => {
  it('refuses a bad token with the API’s problem, then signs in', async () => {
    await page.goto(`${api.url}/ui`);
    await page.fill('#token', 'gty_not_a_token');
    await page.click('#sign-in-form button[type=submit]');
    await page.locator('#problem', { hasText: 'UNAUTHENTICATED' }).waitFor();
    expect(await storedItems()).toBe(0);

    await page.fill('#token', token);
    await page.click('#sign-in-form button[type=submit]');
    await page.locator('h1', { hasText: 'Jobs' }).waitFor();
    expect(await page.locator('#problem').isHidden()).toBe(true);
    expect(await storedItems()).toBe(1);
  });

  it('submits a job from the page and shows it run to COMPLETED with its output and steps', async () => {
    await page.click('summary:has-text("Submit a job")');
    const spec = {
      type: 'console-e2e',
      steps: [
        { name: '<img src=x onerror=alert(1)>', phase: 'SETUP', type: 'NOOP' },
        { name: 'compute', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['sh', '-c', 'echo "answer-$((6*7))"'] } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    };
    await page.fill('#submit-form textarea', JSON.stringify(spec));
    await page.click('#submit-form button[type=submit]');
    await page.waitForURL(/#\/jobs\/[0-9a-f-]{36}$/);
    const id = page.url().split('/').pop()!;

    await status('COMPLETED').waitFor();
    // Only a real shell computes 42; the spec holds the expression, not the answer.
    await page.locator('#job-output', { hasText: 'answer-42' }).waitFor();
    await page.locator('#job-events tr[data-type="job.completed"]').waitFor();
    await page.locator('#job-steps tr[data-step-status="COMPLETED"]').nth(2).waitFor();
    expect(await page.locator('#job-steps tbody tr td:nth-child(5)').allTextContents()).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    expect((await page.locator('#job-steps tbody tr td:nth-child(6)').allTextContents()).every((d) => /\d/.test(d))).toBe(true);
    // Untrusted text is text: the step name shows literally and makes no element.
    await page.locator('#job-steps td', { hasText: '<img src=x onerror=alert(1)>' }).waitFor();
    expect(await page.locator('#job-steps img, #job-events img').count()).toBe(0);
    expect(await dbStatus(id)).toBe('COMPLETED');
  });

  it('shows the API’s problem for an invalid job spec', async () => {
    await page.goto(`${api.url}/ui#/jobs`);
    await page.click('summary:has-text("Submit a job")');
    await page.fill('#submit-form textarea', JSON.stringify({ type: 'bad', steps: [{ name: 'x', phase: 'LATER', type: 'NOOP' }] }));
    await page.click('#submit-form button[type=submit]');
    const problem = page.locator('#problem', { hasText: 'VALIDATION_FAILED' });
    await problem.waitFor();
    expect(await problem.textContent()).toContain('steps.0.phase');
  });

  it('cancels a running command from the job page', async () => {
    const id = await submit({
      type: 'console-sleep',
      steps: [
        { name: 'sleep', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['sleep', '300'] } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    await page.goto(`${api.url}/ui#/jobs`);
    await page.click(`tr[data-job-id="${id}"] a.job-link`);
    await status('RUNNING').waitFor();
    await page.locator('#job-steps tr[data-step-status="RUNNING"]').waitFor();
    await page.click('#cancel-job');
    await status('CANCELLED').waitFor();
    await page.locator('#job-events tr[data-type="job.cancelled"]').waitFor();
    await page.locator('#retry-job').waitFor();
    expect(await dbStatus(id)).toBe('CANCELLED');
    expect(await eventTypes(id)).toEqual(expect.arrayContaining(['job.started', 'job.cancel_requested', 'job.cancelled']));
  });

  it('approves a manual gate and shows the job go on to COMPLETED', async () => {
    const id = await submit({
      type: 'console-deploy',
      steps: [
        { name: 'build', phase: 'SETUP', type: 'NOOP' },
        { name: 'approve', phase: 'EXECUTION', type: 'GATE', spec: { kind: 'approval', prompt: 'ship <b>it</b>?' } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    await page.goto(`${api.url}/ui#/jobs/${id}`);
    await status('WAITING').waitFor();
    await page.locator('.gate .prompt', { hasText: 'ship <b>it</b>?' }).waitFor();
    await page.fill('.gate input', 'looks good');
    await page.click('.gate button.approve');
    await status('COMPLETED').waitFor();
    await page.locator('#job-events tr[data-type="gate.passed"]').waitFor();
    expect(await page.locator('.gate').count()).toBe(0);
    const { rows } = await api.pool.query<{ payload: { comment?: string } }>(
      `SELECT payload FROM job_events WHERE job_id = $1 AND type = 'gate.passed'`,
      [id],
    );
    expect(rows.map((r) => r.payload.comment)).toEqual(['looks good']);

    const shot = join(tmpdir(), `gantry-console-${process.pid}.png`);
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`console screenshot: ${shot}`);
  });

  it('keeps the job list live, and filters it by status, type and priority', async () => {
    await page.goto(`${api.url}/ui#/jobs`);
    const rows = page.locator('#job-list tbody tr[data-job-id]');
    await rows.first().waitFor();
    // Submitted after the page loaded: it appears, and moves on to COMPLETED, by itself.
    const live = await submit({ type: 'console-live', steps: [{ name: 'x', phase: 'EXECUTION', type: 'NOOP' }] });
    await page.locator(`#job-list tr[data-job-id="${live}"] [data-status="COMPLETED"]`).waitFor();

    await page.selectOption('#filters select[name=status]', 'CANCELLED');
    await page.click('#filters button[type=submit]');
    await page.locator('#job-list tbody tr[data-job-id] [data-status="CANCELLED"]').first().waitFor();
    await page.locator('#job-list tbody tr[data-job-id] [data-status="COMPLETED"]').first().waitFor({ state: 'detached' });
    expect(await rows.locator('a.job-link').allTextContents()).toEqual(['console-sleep']);

    await page.selectOption('#filters select[name=status]', 'COMPLETED');
    await page.fill('#filters input[name=type]', 'console-deploy');
    await page.click('#filters button[type=submit]');
    await page.locator('#job-list tbody tr[data-job-id] a.job-link', { hasText: 'console-deploy' }).waitFor();
    await page.locator('#job-list a.job-link', { hasText: 'console-e2e' }).waitFor({ state: 'detached' });
    expect(await rows.count()).toBe(1);

    await page.fill('#filters input[name=type]', '');
    await page.fill('#filters input[name=priorityMin]', '99');
    await page.click('#filters button[type=submit]');
    await page.locator('#job-list td.empty', { hasText: 'No jobs match.' }).waitFor();
  });

  it('shows the backlog and the live workers', async () => {
    await submit({ type: 'console-later', runAt: new Date(Date.now() + 3_600_000).toISOString(), steps: [{ name: 'x', phase: 'EXECUTION', type: 'NOOP' }] });
    await page.click('#nav a[data-view="queue"]');
    await page.locator('#queue-delayed .value', { hasText: '1' }).waitFor();
    await page.click('#nav a[data-view="workers"]');
    await page.locator(`#worker-list tr[data-worker-id="${workerId}"]`, { hasText: '4' }).waitFor();
  });

  it('signs out, forgetting the token', async () => {
    await page.click('#sign-out');
    await page.locator('#sign-in').waitFor();
    expect(await storedItems()).toBe(0);
    await page.reload();
    await page.locator('#sign-in').waitFor();
    expect(pageErrors).toEqual([]);
  });
});
