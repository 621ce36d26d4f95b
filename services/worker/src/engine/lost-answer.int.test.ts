/**
 * A commit whose answer never arrives: a TCP proxy between the worker's pool and PostgreSQL
 * forwards a write, lets PostgreSQL commit it, and cuts both connections instead of passing the
 * answer on — what a PostgreSQL crash does between a commit and its answer. The hold retries the
 * write on a new connection; the job must record it once, and a claim whose job moved on before
 * its retry must not run. Or the proxy passes nothing back and closes nothing — a network that
 * drops packets without a reset: the try fails once the pool's query timeout passes, and is
 * retried like any failed try, within the hold's retry time.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { z } from 'zod';
import { createLogger, createMetrics } from '@gantry/runtime';
import { applyWrites, createPool, JobWriter, type Pool } from '@gantry/store';
import { createJobs, createWorkspace, jobSpec, useTestDatabase } from '@gantry/testkit';
import { createWorkerMetrics } from '../metrics.js';
import { StepRegistry } from '../steps/registry.js';
import { defineStepType, type StepHandler } from '../steps/types.js';
import { JobHold } from './job-hold.js';
import { AttemptRun } from './job-runner.js';
import * as W from './writes.js';

const db = useTestDatabase();
const logger = createLogger({ service: 'test', version: '0', level: 'silent' });

/**
 * Forwards connections to PostgreSQL. Once armed, the next answer that ends with ReadyForQuery
 * (sent after the statement's implicit transaction committed) is dropped, and both sides of
 * that connection are closed. While `silent`, every answer is dropped and nothing is closed.
 * Once `stalling`, the next request sent on an open connection is held back, that connection's
 * PostgreSQL side kept open when the client gives up on it, until {@link releaseStalled} sends
 * it on: a request held up in the network, which PostgreSQL receives late.
 */
class AnswerCutter {
  readonly server: Server;
  armed = false;
  silent = false;
  stalling = false;
  cut = 0;
  #stalled: { upstream: Socket; data: Buffer[]; answered: Promise<void> } | undefined;

  constructor(target: { host: string; port: number }) {
    this.server = createServer((client: Socket) => {
      const upstream = createConnection(target);
      let held: Buffer[] | undefined;
      let answered = () => {};
      const close = () => {
        client.destroy();
        if (held === undefined) upstream.destroy();
      };
      client.on('data', (chunk) => {
        if (held !== undefined) held.push(chunk);
        else if (this.stalling) {
          this.stalling = false;
          held = [chunk];
          this.#stalled = { upstream, data: held, answered: new Promise((resolve) => (answered = resolve)) };
        } else upstream.write(chunk);
      });
      upstream.on('data', (chunk) => {
        if (this.silent) return;
        const tail = chunk.subarray(-6);
        const readyForQuery = tail[0] === 0x5a && tail.readInt32BE(1) === 5;
        if (held !== undefined) {
          if (readyForQuery) answered();
          return;
        }
        if (this.armed && readyForQuery) {
          this.armed = false;
          this.cut += 1;
          close();
          return;
        }
        client.write(chunk);
      });
      client.on('error', close).on('close', close);
      upstream.on('error', close).on('close', close);
    });
  }

  /** Sends the held request on to PostgreSQL, and resolves once it has answered it. */
  async releaseStalled(): Promise<void> {
    const stalled = this.#stalled!;
    this.#stalled = undefined;
    stalled.upstream.write(Buffer.concat(stalled.data));
    await stalled.answered;
    stalled.upstream.destroy();
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as { port: number }).port)));
  }
}

let cutter: AnswerCutter;
let direct: Pool;
let proxied: Pool;
/** Through the proxy, with the worker's query timeout (`WORKER_QUERY_TIMEOUT_MS`), and as short a wait for a connection. */
let timed: Pool;
let workspaceId: string;
let workDir: string;

beforeAll(async () => {
  const url = new URL(db.url);
  cutter = new AnswerCutter({ host: url.hostname, port: Number(url.port || 5432) });
  url.port = String(await cutter.listen());
  direct = createPool(db.url, { max: 2, applicationName: 'lost-answer-test' });
  proxied = createPool(url.toString(), { max: 2, applicationName: 'lost-answer-test-proxied' });
  timed = createPool(url.toString(), { max: 2, applicationName: 'lost-answer-test-timed', queryTimeoutMs: 300, connectionTimeoutMs: 300 });
  workspaceId = await createWorkspace(direct);
  workDir = await mkdtemp(join(tmpdir(), 'gantry-lost-answer-'));
});
afterAll(async () => {
  await proxied.end();
  await timed.end();
  await direct.end();
  await new Promise((r) => cutter.server.close(r));
  await rm(workDir, { recursive: true, force: true });
});

it('records a step write once when PostgreSQL committed it and the answer was lost', async () => {
  const [job] = await createJobs(direct, workspaceId);
  const [one, two] = job!.stepIds;
  const writer = new JobWriter({ pool: proxied });
  const holder: W.Holder = { actor: 'worker:w1', attempt: 1 };
  const hold = new JobHold({ writer, jobId: job!.id, holder, onFenced: () => {}, logger: () => logger });
  const step = (id: string, name: string) => ({ id, name, phase: 'EXECUTION' as const, type: 'NOOP' });
  expect(await hold.claim(W.claim(holder, 'w1'))).toMatchObject({ id: job!.id, status: 'RUNNING' });
  hold.add(W.stepStarted(holder, step(one!, 'a')));

  // The first step completes and the second starts: a write that leaves the job RUNNING.
  hold.add(W.stepCompleted(holder, step(one!, 'a'), 1, {}, undefined));
  hold.add(W.stepStarted(holder, step(two!, 'b')));
  cutter.armed = true;
  expect(await hold.flush()).toBe(true);
  expect(cutter.cut).toBe(1);
  expect(hold.writes).toBe(3); // the claim, the cut write, its replay

  const { rows } = await direct.query<{ type: string; step_id: string | null; sequence: number }>(
    'SELECT type, step_id, sequence FROM job_events WHERE job_id = $1 ORDER BY sequence',
    [job!.id],
  );
  expect(rows.map((r) => [r.type, r.step_id])).toEqual([
    ['job.created', null],
    ['job.queued', null],
    ['job.started', null],
    ['step.started', one],
    ['step.completed', one],
    ['step.started', two],
  ]);
  await writer.stop();
});

it('runs nothing when a claim committed, its answer was lost, and the job moved on before the retry', async () => {
  let ran = 0;
  const mark = defineStepType({ type: 'MARK', spec: z.object({}), run: async () => {
    ran += 1;
    return {};
  } }) as StepHandler<unknown>;
  const [job] = await createJobs(direct, workspaceId, 1, { spec: jobSpec({ steps: [{ name: 'mark', phase: 'EXECUTION', type: 'MARK' }] }) });
  const writer = new JobWriter({ pool: proxied });
  const metrics = createWorkerMetrics(createMetrics({ service: 'worker', version: '0', defaultMetrics: false }), 'default', () => ({ total: 1, busy: 1, expressTotal: 0, expressBusy: 0 }));
  const claimed: boolean[] = [];
  const run = new AttemptRun({ jobId: job!.id, attempt: 1 }, {
    writer, registry: new StepRegistry([mark]), metrics, logger,
    settings: { workerId: 'w1', workDir, killGraceMs: 1_000, progressIntervalMs: 0, stepWriteDelayMs: 10, holdCheckMs: 5_000 },
    onClaim: (ok) => claimed.push(ok),
  });
  await proxied.query('SELECT 1'); // a connection is open: the next answer cut is the claim's
  cutter.armed = true;
  const outcome = run.run();
  // The claim's answer is lost and the claim commits (the statements after the cut answer were
  // already on their way). Before the hold's retry (100 ms later) the scheduler ends attempt 1
  // (its deadline passed, say) and queues attempt 2.
  while (cutter.cut === 0) await new Promise((r) => setTimeout(r, 2));
  for (;;) {
    const { rows } = await direct.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [job!.id]);
    if (rows[0]!.status === 'RUNNING') break;
    await new Promise((r) => setTimeout(r, 2));
  }
  const [moved] = await applyWrites(direct, [{
    jobId: job!.id, attempt: 1, expect: ['RUNNING'], to: 'QUEUED',
    set: { attempt: 2, failures: 1, workerId: null, dispatchedAt: null, error: { code: 'TIMEOUT', message: 'timed out' } },
    events: [{ type: 'job.queued', actor: 'scheduler', payload: { attempt: 2, reason: 'retry', runAt: null } }],
  }]);
  expect(moved!.applied).toBe(true);
  expect(await outcome).toBe('REFUSED');
  await writer.stop();
  expect({ ran, claimed }).toEqual({ ran: 0, claimed: [false] });
});

it('retries a write whose answer never comes once its try times out, and records it once', async () => {
  const [job] = await createJobs(direct, workspaceId);
  const [one] = job!.stepIds;
  const writer = new JobWriter({ pool: timed });
  const holder: W.Holder = { actor: 'worker:w1', attempt: 1 };
  const hold = new JobHold({ writer, jobId: job!.id, holder, onFenced: () => {}, logger: () => logger, retryForMs: 10_000 });
  expect(await hold.claim(W.claim(holder, 'w1'))).toMatchObject({ id: job!.id, status: 'RUNNING' });
  // The step's start reaches PostgreSQL, which commits it; no answer comes back, for a while.
  cutter.silent = true;
  hold.add(W.stepStarted(holder, { id: one!, name: 'a', phase: 'EXECUTION', type: 'NOOP' }));
  const flushed = hold.flush();
  setTimeout(() => (cutter.silent = false), 500);
  try {
    expect(await flushed).toBe(true);
  } finally {
    cutter.silent = false;
  }
  expect(hold.writes).toBeGreaterThanOrEqual(3); // the claim, the try that timed out, its replay
  const { rows } = await direct.query<{ type: string }>('SELECT type FROM job_events WHERE job_id = $1 ORDER BY sequence', [job!.id]);
  expect(rows.map((r) => r.type)).toEqual(['job.created', 'job.queued', 'job.started', 'step.started']);
  await writer.stop();
});

it('gives the attempt up within its retry time when no answer comes at all', async () => {
  const [job] = await createJobs(direct, workspaceId);
  const writer = new JobWriter({ pool: timed });
  const holder: W.Holder = { actor: 'worker:w1', attempt: 1 };
  const broken: unknown[] = [];
  const hold = new JobHold({ writer, jobId: job!.id, holder, onFenced: () => {}, onBroken: (err) => broken.push(err), logger: () => logger, retryForMs: 1_000 });
  expect(await hold.claim(W.claim(holder, 'w1'))).toMatchObject({ status: 'RUNNING' });
  cutter.silent = true;
  try {
    hold.add(W.stepStarted(holder, { id: job!.stepIds[0]!, name: 'a', phase: 'EXECUTION', type: 'NOOP' }));
    await expect(hold.flush()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  } finally {
    cutter.silent = false;
  }
  expect(broken).toHaveLength(1);
  await writer.stop();
});

it('records a step write once when a try it gave up on reaches PostgreSQL after its retry committed', async () => {
  const [job] = await createJobs(direct, workspaceId);
  const [one] = job!.stepIds;
  const writer = new JobWriter({ pool: timed });
  const holder: W.Holder = { actor: 'worker:w1', attempt: 1 };
  const hold = new JobHold({ writer, jobId: job!.id, holder, onFenced: () => {}, logger: () => logger, retryForMs: 10_000 });
  expect(await hold.claim(W.claim(holder, 'w1'))).toMatchObject({ status: 'RUNNING' });
  await timed.query('SELECT 1'); // connections are open: the next request sent is the step write's
  // The step's start is held up in the network; the worker gives the try up and retries it on
  // a new connection, which commits.
  cutter.stalling = true;
  hold.add(W.stepStarted(holder, { id: one!, name: 'a', phase: 'EXECUTION', type: 'NOOP' }));
  expect(await hold.flush()).toBe(true);
  expect(hold.writes).toBe(3); // the claim, the try given up, its retry
  // Then the first try arrives, and PostgreSQL runs it.
  await cutter.releaseStalled();
  const { rows } = await direct.query<{ type: string }>('SELECT type FROM job_events WHERE job_id = $1 ORDER BY sequence', [job!.id]);
  expect(rows.map((r) => r.type)).toEqual(['job.created', 'job.queued', 'job.started', 'step.started']);
  await writer.stop();
});

it('lets a step that writes nothing run on through an outage longer than the write retry: its hold checks tell nothing then', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const quiet = defineStepType({ type: 'QUIET', spec: z.object({}), run: async () => {
    await released;
    return {};
  } }) as StepHandler<unknown>;
  const [job] = await createJobs(direct, workspaceId, 1, { spec: jobSpec({ steps: [{ name: 'quiet', phase: 'EXECUTION', type: 'QUIET' }] }) });
  const writer = new JobWriter({ pool: timed });
  const metrics = createWorkerMetrics(createMetrics({ service: 'worker', version: '0', defaultMetrics: false }), 'default', () => ({ total: 1, busy: 1, expressTotal: 0, expressBusy: 0 }));
  const run = new AttemptRun({ jobId: job!.id, attempt: 1 }, {
    writer, registry: new StepRegistry([quiet]), metrics, logger,
    settings: { workerId: 'w1', workDir, killGraceMs: 1_000, progressIntervalMs: 3_600_000, stepWriteDelayMs: 10, writeRetryMs: 300, holdCheckMs: 100 },
  });
  const outcome = run.run();
  await new Promise((r) => setTimeout(r, 300)); // claimed, the step running
  // PostgreSQL unreachable for longer than a write is retried, while the step writes nothing.
  cutter.silent = true;
  await new Promise((r) => setTimeout(r, 1_200));
  cutter.silent = false;
  release();
  expect(await outcome).toBe('COMPLETED');
  await writer.stop();
});
