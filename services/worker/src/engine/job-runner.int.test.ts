import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { EVENT_PAYLOADS, type JobEvent, Limits, MetricNames } from '@gantry/contracts';
import type { Metrics } from '@gantry/runtime';
import { applyWrites, withTransaction } from '@gantry/store';
import { blockingStep } from '../testing/blocking-step.js';
import { typesOf, useWorkerHarness } from '../testing/harness.js';
import { defineStepType } from '../steps/types.js';
import { CancelJobError, RetryLaterError, UnrecoverableError } from './job-control.js';

const h = useWorkerHarness();

/** The worker's gantry_jobs_timed_out_total. */
async function timedOut(metrics: Metrics): Promise<number> {
  const line = (await metrics.render()).split('\n').find((l) => l.startsWith(`${MetricNames.jobsTimedOut} `));
  return Number(line?.split(' ')[1] ?? NaN);
}
const block = blockingStep();

const controlled = defineStepType({
  type: 'CONTROLLED',
  spec: z.object({ throw: z.enum(['cancel', 'unrecoverable', 'retry_later', 'cancel_at_length', 'code_at_length']) }),
  async run({ spec }) {
    if (spec.throw === 'cancel') throw new CancelJobError('the handler gave up');
    // A handler's texts as long as it likes: a reason past a job's cancel reason, a code past a code.
    if (spec.throw === 'cancel_at_length') throw new CancelJobError('r'.repeat(3_000));
    if (spec.throw === 'code_at_length') throw new UnrecoverableError('bad input', 'C'.repeat(150));
    if (spec.throw === 'unrecoverable') throw new UnrecoverableError('bad input', 'BAD_INPUT');
    throw new RetryLaterError(120_000, 'rate limited upstream');
  },
});

const parks = defineStepType({
  type: 'PARKS',
  // A prompt made by the handler (a NUL cannot come through a job spec), and any timeout.
  spec: z.object({ nulPrompt: z.boolean().optional(), timeoutMs: z.number().optional() }),
  run: async ({ spec }) => ({ park: { ...(spec.nulPrompt ? { prompt: 'ship\u0000it?' } : {}), ...(spec.timeoutMs === undefined ? {} : { timeoutMs: spec.timeoutMs }) } }),
});

const notJson = defineStepType({
  type: 'NOT_JSON',
  spec: z.object({ hook: z.literal('throw').optional() }),
  timeoutMs: (spec) => {
    if (spec.hook === 'throw') throw new Error('no timeout here');
    return undefined;
  },
  run: async () => ({ output: { big: 10n } as never }),
});

const throwsAtOnce = defineStepType({
  type: 'THROWS_AT_ONCE',
  spec: z.object({}),
  run: () => {
    throw new Error('thrown before any promise');
  },
});

/** Text PostgreSQL cannot store, from a handler: a NUL in its message, a message long enough to be cut inside an emoji, an output string cut by code units. */
const unstorableText = defineStepType({
  type: 'UNSTORABLE_TEXT',
  spec: z.object({ kind: z.enum(['nul', 'long-emoji', 'output']) }),
  async run({ spec }) {
    if (spec.kind === 'nul') throw new Error('bad byte \u0000 in the tool output');
    if (spec.kind === 'long-emoji') throw new Error(`${'a'.repeat(3998)}${'😀'.repeat(10)}`);
    return { output: { summary: '😀😀😀'.slice(0, 5) } };
  },
});

/** An output of `chars` characters: a step of a job whose outputs together outgrow a NATS message. */
const bigOutput = defineStepType({
  type: 'BIG_OUTPUT',
  spec: z.object({ chars: z.number().int() }),
  run: async ({ spec }) => ({ output: { text: 'x'.repeat(spec.chars) } }),
});

function payloadOf(events: readonly JobEvent[], type: string): Record<string, unknown> {
  return events.find((e) => e.type === type)!.payload as Record<string, unknown>;
}

describe('the step engine', () => {
  it('runs steps in phase order and ordinal order, in two writes, and acks after the commit', async () => {
    const { worker } = await h.startWorker({ settings: { progressIntervalMs: 3_600_000, stepWriteDelayMs: 5_000 } });
    const job = await h.createJob({
      steps: [
        { name: 'tidy', phase: 'CLEANUP', type: 'NOOP' },
        { name: 'build', phase: 'EXECUTION', type: 'NOOP' },
        { name: 'prepare', phase: 'SETUP', type: 'NOOP' },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');

    const row = await h.job(job.id);
    expect(row).toMatchObject({ status: 'COMPLETED', attempt: 1, failures: 0, progress: 100, worker_id: null, result: null });
    expect(row.started_at).not.toBeNull();
    expect(row.completed_at).not.toBeNull();
    const events = await h.events(job.id);
    // The benchmark's job: exactly 10 events (2 from creation, 8 from the worker).
    expect(typesOf(events)).toEqual([
      'job.created', 'job.queued', 'job.started',
      'step.started', 'step.completed', 'step.started', 'step.completed', 'step.started', 'step.completed',
      'job.completed',
    ]);
    const names = events.filter((e) => e.type === 'step.started').map((e) => (e.payload as { name: string }).name);
    expect(names).toEqual(['prepare', 'build', 'tidy']);
    expect(events.every((e) => e.type === 'job.created' || e.type === 'job.queued' || e.actor === `worker:${worker.id}`)).toBe(true);
    expect((await h.steps(job.id)).map((s) => s.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED']);
    await h.published(job.id, (e) => e.type === 'job.completed');
    // The claim (which also loaded the job), then every step's events with the terminal move.
    expect(h.batches(job.id)).toBe(2);
    expect(await h.settledDispatch()).toMatchObject({ pending: 0, ackPending: 0 });
    expect(worker.slots.busy).toBe(0);
  });

  it('writes progress as steps complete', async () => {
    const { worker } = await h.startWorker();
    const job = await h.createJob();
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    const progress = (await h.events(job.id)).filter((e) => e.type === 'job.progress').map((e) => e.payload);
    expect(progress).toEqual([
      { progress: 33, completedSteps: 1, totalSteps: 3 },
      { progress: 66, completedSteps: 2, totalSteps: 3 },
    ]);
  });

  it('skips the remaining steps after a failure, still runs CLEANUP, and fails the job when no attempt is left', async () => {
    const { worker } = await h.startWorker();
    const job = await h.createJob({
      maxAttempts: 1,
      steps: [
        { name: 'setup', phase: 'SETUP', type: 'NOOP' },
        { name: 'execute', phase: 'EXECUTION', type: 'NOOP', spec: { fail: true } },
        { name: 'validate', phase: 'VALIDATION', type: 'NOOP' },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('FAILED');
    const steps = await h.steps(job.id);
    expect(steps.map((s) => [s.name, s.status])).toEqual([
      ['setup', 'COMPLETED'], ['execute', 'FAILED'], ['validate', 'SKIPPED'], ['cleanup', 'COMPLETED'],
    ]);
    expect(steps[1]!.error).toMatchObject({ code: 'NOOP_FAILED' });
    const row = await h.job(job.id);
    expect(row).toMatchObject({ status: 'FAILED', failures: 1, worker_id: null });
    expect(row.error).toMatchObject({ code: 'STEP_FAILED', stepId: steps[1]!.id, retryable: true });
    const events = await h.events(job.id);
    expect(typesOf(events).slice(2)).toEqual([
      'job.started', 'step.started', 'step.completed', 'job.progress', 'step.started', 'step.failed',
      'step.skipped', 'step.started', 'step.completed', 'job.failed',
    ]);
    expect(payloadOf(events, 'job.failed')).toMatchObject({ attempts: 1, error: { code: 'STEP_FAILED' } });
  });

  it('requeues a failed attempt with backoff, resets its steps, and fails once the attempts are spent', async () => {
    const { worker } = await h.startWorker();
    const job = await h.createJob({
      maxAttempts: 2,
      backoff: { kind: 'fixed', initialMs: 60_000, jitter: 0 },
      steps: [
        { name: 'execute', phase: 'EXECUTION', type: 'NOOP', spec: { fail: true } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('RETRY');
    const row = await h.job(job.id);
    expect(row).toMatchObject({ status: 'QUEUED', attempt: 2, failures: 1, worker_id: null, dispatched_at: null });
    expect(row.error).toMatchObject({ code: 'STEP_FAILED', retryable: true });
    const delayMs = row.run_at!.getTime() - row.now.getTime();
    expect(delayMs).toBeGreaterThan(55_000);
    expect(delayMs).toBeLessThanOrEqual(60_000);
    expect((await h.steps(job.id)).map((s) => s.status)).toEqual(['PENDING', 'PENDING']);
    const events = await h.events(job.id);
    const queued = events.at(-1)!;
    expect(queued).toMatchObject({ type: 'job.queued', attempt: 2 });
    expect(queued.payload).toMatchObject({ attempt: 2, reason: 'retry', runAt: row.run_at!.toISOString(), error: { code: 'STEP_FAILED' } });
    expect(events.filter((e) => e.type === 'step.completed').map((e) => e.attempt)).toEqual([1]);

    expect(await h.run(worker, job.id, 2)).toBe('FAILED');
    expect(await h.job(job.id)).toMatchObject({ status: 'FAILED', attempt: 2, failures: 2 });
    expect(payloadOf((await h.events(job.id)).reverse(), 'job.failed')).toMatchObject({ attempts: 2 });
  });

  it('acks and drops a duplicate dispatch after completion and a stale attempt, changing nothing, and counts them', async () => {
    const { worker, metrics } = await h.startWorker();
    const job = await h.createJob({ maxAttempts: 3, backoff: { kind: 'fixed', initialMs: 60_000, jitter: 0 }, steps: [{ name: 'x', phase: 'EXECUTION', type: 'NOOP' }] });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    const before = { row: await h.job(job.id), events: await h.events(job.id) };

    const dropped = worker.signals.next('dispatchDropped', (d) => d.jobId === job.id);
    await h.dispatch(job.id, 1, `${job.id}:1:again`);
    expect(await dropped).toEqual({ jobId: job.id, attempt: 1, reason: 'stale' });
    expect(await h.events(job.id)).toEqual(before.events);
    const { now: _a, ...rowBefore } = before.row;
    const { now: _b, ...rowAfter } = await h.job(job.id);
    expect(rowAfter).toEqual(rowBefore);

    const failing = await h.createJob({ maxAttempts: 3, backoff: { kind: 'fixed', initialMs: 60_000, jitter: 0 }, steps: [{ name: 'x', phase: 'EXECUTION', type: 'NOOP', spec: { fail: true } }] });
    expect(await h.run(worker, failing.id)).toBe('RETRY');
    const count = (await h.events(failing.id)).length;
    const stale = worker.signals.next('dispatchDropped', (d) => d.jobId === failing.id);
    await h.dispatch(failing.id, 1, `${failing.id}:1:late`);
    expect((await stale).reason).toBe('stale');
    expect((await h.events(failing.id)).length).toBe(count);
    expect(await h.job(failing.id)).toMatchObject({ status: 'QUEUED', attempt: 2 });
    expect(await h.settledDispatch()).toMatchObject({ pending: 0, ackPending: 0 });
    expect(await metrics.render()).toMatch(/^gantry_dispatches_dropped_total\{reason="stale"\} 2$/m);
  });

  it('keeps reaching the running attempt of a job while a stale dispatch of its earlier attempt is dropped', async () => {
    const { worker } = await h.startWorker({ stepTypes: [block.handler] });
    const job = await h.createJob({ steps: [{ name: 'hold', phase: 'EXECUTION', type: 'BLOCK', spec: { key: 'stale-beside' } }] });
    // The job is on its second attempt (its first worker was judged lost, say).
    await h.pool.query('UPDATE runner_jobs SET attempt = 2 WHERE id = $1', [job.id]);
    const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id && e.attempt === 2);
    await h.dispatch(job.id, 2);
    await block.started('stale-beside');
    // The first attempt's dispatch comes again (redelivered after the ack wait): dropped as stale.
    const dropped = worker.signals.next('dispatchDropped', (d) => d.jobId === job.id && d.attempt === 1);
    await h.dispatch(job.id, 1, `${job.id}:1:redelivered`);
    expect((await dropped).reason).toBe('stale');
    try {
      // A cancel of the running attempt (move 11) still reaches it.
      h.ns.nc.publish(h.ns.names.subjects.cancel(worker.id), JSON.stringify({ v: 1, jobId: job.id, attempt: 2, reason: 'cancelled' }));
      expect((await ended).outcome).toBe('CANCELLED');
      expect(await h.job(job.id)).toMatchObject({ status: 'CANCELLED', attempt: 2 });
    } finally {
      block.release('stale-beside');
    }
  });

  it('stops writing when a newer attempt fenced the running one, and acks its dispatch', async () => {
    const { worker } = await h.startWorker({ stepTypes: [block.handler] });
    const job = await h.createJob({
      steps: [
        { name: 'hold', phase: 'EXECUTION', type: 'BLOCK', spec: { key: 'fence' } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
    await h.dispatch(job.id, 1);
    await block.started('fence');
    // The scheduler declares the worker lost (row 13): attempt 2 takes over.
    await withTransaction(h.pool, (c) =>
      applyWrites(c, [{
        jobId: job.id, attempt: 1, expect: ['RUNNING'], to: 'QUEUED',
        set: { attempt: 2, failures: 1, workerId: null, dispatchedAt: null, error: { code: 'WORKER_LOST', message: 'lost' } },
        events: [{ type: 'job.queued', actor: 'scheduler', payload: { attempt: 2, reason: 'worker_lost', runAt: null } }],
      }]),
    );
    const fencedAt = (await h.events(job.id)).length;
    block.release('fence');
    expect((await ended).outcome).toBe('FENCED');
    expect((await h.events(job.id)).length).toBe(fencedAt);
    expect(await h.job(job.id)).toMatchObject({ status: 'QUEUED', attempt: 2 });
    expect(await h.settledDispatch()).toMatchObject({ pending: 0, ackPending: 0 });
  });

  it('stops a step that writes nothing once its attempt was given to another worker', async () => {
    const { worker } = await h.startWorker({ stepTypes: [block.handler], settings: { holdCheckMs: 200 } });
    const job = await h.createJob({ steps: [{ name: 'silent', phase: 'EXECUTION', type: 'BLOCK', spec: { key: 'silent' } }] });
    const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
    const stepStarted = h.published(job.id, (e) => e.type === 'step.started');
    await h.dispatch(job.id, 1);
    await block.started('silent');
    await stepStarted; // the attempt's last write until the step ends
    // The scheduler lost this worker (cut off from NATS, its beats and signals gone): attempt 2
    // takes over. The step is never released and writes nothing; the attempt's own check finds it.
    await withTransaction(h.pool, (c) =>
      applyWrites(c, [{
        jobId: job.id, attempt: 1, expect: ['RUNNING'], to: 'QUEUED',
        set: { attempt: 2, failures: 1, workerId: null, dispatchedAt: null, error: { code: 'WORKER_LOST', message: 'lost' } },
        events: [{ type: 'job.queued', actor: 'scheduler', payload: { attempt: 2, reason: 'worker_lost', runAt: null } }],
      }]),
    );
    expect((await ended).outcome).toBe('FENCED');
    expect(await h.job(job.id)).toMatchObject({ status: 'QUEUED', attempt: 2 });
  });

  it('lets handlers steer the job: cancel, fail without retry, retry later', async () => {
    const { worker } = await h.startWorker({ stepTypes: [controlled] });
    const spec = (kind: string) => ({
      maxAttempts: 3,
      steps: [
        { name: 'steer', phase: 'EXECUTION' as const, type: 'CONTROLLED', spec: { throw: kind } },
        { name: 'after', phase: 'VALIDATION' as const, type: 'NOOP' },
        { name: 'cleanup', phase: 'CLEANUP' as const, type: 'NOOP' },
      ],
    });
    const cancelled = await h.createJob(spec('cancel'));
    expect(await h.run(worker, cancelled.id)).toBe('CANCELLED');
    expect((await h.steps(cancelled.id)).map((s) => s.status)).toEqual(['FAILED', 'SKIPPED', 'COMPLETED']);
    expect(await h.job(cancelled.id)).toMatchObject({ status: 'CANCELLED', failures: 0, worker_id: null });
    expect(payloadOf(await h.events(cancelled.id), 'job.cancelled')).toEqual({ reason: 'the handler gave up', from: 'RUNNING' });

    const unrecoverable = await h.createJob(spec('unrecoverable'));
    expect(await h.run(worker, unrecoverable.id)).toBe('FAILED');
    const failed = await h.job(unrecoverable.id);
    expect(failed).toMatchObject({ status: 'FAILED', failures: 1 });
    expect(failed.error).toMatchObject({ code: 'STEP_FAILED', retryable: false });
    expect((await h.steps(unrecoverable.id))[0]!.error).toMatchObject({ code: 'BAD_INPUT' });

    const later = await h.createJob(spec('retry_later'));
    expect(await h.run(worker, later.id)).toBe('RETRY');
    const requeued = await h.job(later.id);
    expect(requeued).toMatchObject({ status: 'QUEUED', attempt: 2, failures: 1 });
    const delayMs = requeued.run_at!.getTime() - requeued.now.getTime();
    expect(delayMs).toBeGreaterThan(110_000);
    expect(delayMs).toBeLessThanOrEqual(120_000);
  });

  it('stores what a handler says within the event schema: a long cancel reason and a long error code are cut', async () => {
    const { worker } = await h.startWorker({ stepTypes: [controlled] });
    const steer = (kind: string) => ({ maxAttempts: 1, steps: [{ name: 'steer', phase: 'EXECUTION' as const, type: 'CONTROLLED', spec: { throw: kind } }] });
    const cancelled = await h.createJob(steer('cancel_at_length'));
    expect(await h.run(worker, cancelled.id)).toBe('CANCELLED');
    const failed = await h.createJob(steer('code_at_length'));
    expect(await h.run(worker, failed.id)).toBe('FAILED');
    for (const id of [cancelled.id, failed.id]) {
      for (const event of await h.events(id)) {
        const checked = EVENT_PAYLOADS[event.type].safeParse(event.payload);
        expect(checked.success, `${event.type}: ${JSON.stringify(checked.error?.issues)}`).toBe(true);
      }
    }
    expect((payloadOf(await h.events(cancelled.id), 'job.cancelled') as { reason: string }).reason).toHaveLength(Limits.maxReasonLength);
    expect((await h.steps(failed.id))[0]!.error).toMatchObject({ code: `${'C'.repeat(Limits.maxErrorCodeLength - 1)}…` });
  });

  it('parks on what a handler asks only within bounds: its prompt made storable, a timeout that is no duration refused', async () => {
    const { worker } = await h.startWorker({ stepTypes: [parks] });
    const park = (spec: { nulPrompt?: boolean; timeoutMs?: number }) => ({ maxAttempts: 3, steps: [{ name: 'wait', phase: 'VALIDATION' as const, type: 'PARKS', spec }] });
    // A NUL, which PostgreSQL cannot store: the write that parks the job was refused, and the
    // attempt abandoned, to be run again as a lost worker's for ever.
    const nul = await h.createJob(park({ nulPrompt: true, timeoutMs: 60_000 }));
    expect(await h.run(worker, nul.id)).toBe('WAITING');
    expect(payloadOf(await h.events(nul.id), 'job.waiting')).toMatchObject({ prompt: 'ship\ufffdit?' });
    for (const timeoutMs of [0.5, -1, 8 * 24 * 3_600_000]) {
      const bad = await h.createJob(park({ timeoutMs }));
      expect(await h.run(worker, bad.id), String(timeoutMs)).toBe('FAILED');
      expect((await h.steps(bad.id))[0]!.error).toMatchObject({ code: 'VALIDATION_FAILED', retryable: false });
    }
  });

  it('fails the step of a handler that throws before returning its promise', async () => {
    const { worker } = await h.startWorker({ stepTypes: [throwsAtOnce] });
    const job = await h.createJob({ maxAttempts: 1, steps: [{ name: 'sync', phase: 'EXECUTION', type: 'THROWS_AT_ONCE' }, { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' }] });
    expect(await h.run(worker, job.id)).toBe('FAILED');
    expect((await h.steps(job.id)).map((s) => [s.status, s.error?.message ?? null])).toEqual([['FAILED', 'thrown before any promise'], ['COMPLETED', null]]);
  });

  it('fails, without retry, a step whose output is not JSON or whose handler throws reading its spec, and still ends the attempt', async () => {
    const { worker } = await h.startWorker({ stepTypes: [notJson] });
    const job = await h.createJob({
      steps: [
        { name: 'bigint', phase: 'EXECUTION', type: 'NOT_JSON' },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('FAILED');
    const [bigint, cleanup] = await h.steps(job.id);
    expect(bigint!.error).toMatchObject({ code: 'STEP_FAILED', retryable: false });
    expect(cleanup!.status).toBe('COMPLETED');
    const hooked = await h.createJob({ steps: [{ name: 'hook', phase: 'EXECUTION', type: 'NOT_JSON', spec: { hook: 'throw' } }] });
    expect(await h.run(worker, hooked.id)).toBe('FAILED');
    expect((await h.steps(hooked.id))[0]!.error).toMatchObject({ message: 'no timeout here', retryable: false });
  });

  it('ends the attempt when a handler’s error or output holds text PostgreSQL cannot store, storing it with U+FFFD instead', async () => {
    const { worker } = await h.startWorker({ stepTypes: [unstorableText] });
    for (const kind of ['nul', 'long-emoji'] as const) {
      const job = await h.createJob({ maxAttempts: 1, steps: [{ name: 'x', phase: 'EXECUTION', type: 'UNSTORABLE_TEXT', spec: { kind } }] });
      expect(await h.run(worker, job.id)).toBe('FAILED');
      expect(await h.job(job.id)).toMatchObject({ status: 'FAILED', worker_id: null });
      const message = (await h.steps(job.id))[0]!.error!.message;
      expect(message).toBe(kind === 'nul' ? 'bad byte \ufffd in the tool output' : `${'a'.repeat(3998)}…`);
    }
    const job = await h.createJob({ maxAttempts: 1, steps: [{ name: 'x', phase: 'EXECUTION', type: 'UNSTORABLE_TEXT', spec: { kind: 'output' } }] });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    expect((await h.job(job.id)).result).toEqual({ x: { summary: '😀😀\ufffd' } });
  });

  it('bounds the job’s result, its largest outputs replaced by stand-ins, so that job.completed is published; each step keeps its own', async () => {
    const { worker } = await h.startWorker({ stepTypes: [bigOutput] });
    // Five outputs of 250 KB each (each within a step's limit): 1.25 MB together, past NATS's 1 MiB.
    const names = ['a', 'b', 'c', 'd', 'e'];
    const job = await h.createJob({ steps: names.map((name) => ({ name, phase: 'EXECUTION', type: 'BIG_OUTPUT', spec: { chars: 250_000 } })) });
    const completed = h.published(job.id, (e) => e.type === 'job.completed', 15_000);
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    const whole = { text: 'x'.repeat(250_000) };
    const standIn = { truncated: true, bytes: JSON.stringify(whole).length };
    // The first three (equal sizes: in step order) make way, until the rest fits in Limits.maxJobResultBytes.
    const expected = { a: standIn, b: standIn, c: standIn, d: whole, e: whole };
    expect((await h.job(job.id)).result).toEqual(expected);
    expect(JSON.stringify(expected).length).toBeLessThanOrEqual(Limits.maxJobResultBytes);
    expect((await completed).payload).toMatchObject({ result: expected });
    expect((await h.steps(job.id)).map((s) => s.output)).toEqual(names.map(() => whole));
  });

  it('fails a step of an unknown type without retry', async () => {
    const { worker } = await h.startWorker();
    const job = await h.createJob({ maxAttempts: 5, steps: [{ name: 'mystery', phase: 'EXECUTION', type: 'NOT_INSTALLED' }] });
    expect(await h.run(worker, job.id)).toBe('FAILED');
    expect((await h.steps(job.id))[0]!.error).toMatchObject({ code: 'UNKNOWN_STEP_TYPE' });
  });

  it('honours a cancel signal: the running step fails CANCELLED, the rest is skipped, CLEANUP runs', async () => {
    const { worker } = await h.startWorker({ stepTypes: [block.handler] });
    const job = await h.createJob({
      steps: [
        { name: 'hold', phase: 'EXECUTION', type: 'BLOCK', spec: { key: 'cancel' } },
        { name: 'validate', phase: 'VALIDATION', type: 'NOOP' },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
    await h.dispatch(job.id, 1);
    await block.started('cancel');
    // What the API or the scheduler records before they signal (move 11).
    await h.pool.query(
      `INSERT INTO job_events (id, job_id, workspace_id, sequence, type, actor, attempt, payload)
       SELECT gen_random_uuid(), id, workspace_id, (SELECT max(sequence) + 1 FROM job_events WHERE job_id = $1), 'job.cancel_requested', 'test', attempt, '{"reason":"no longer needed"}'
       FROM runner_jobs WHERE id = $1`,
      [job.id],
    );
    h.ns.nc.publish(h.ns.names.subjects.cancel(worker.id), JSON.stringify({ v: 1, jobId: job.id, attempt: 1, reason: 'cancelled' }));
    expect((await ended).outcome).toBe('CANCELLED');
    expect(payloadOf(await h.events(job.id), 'job.cancelled')).toEqual({ reason: 'no longer needed', from: 'RUNNING' });
    const steps = await h.steps(job.id);
    expect(steps.map((s) => s.status)).toEqual(['FAILED', 'SKIPPED', 'COMPLETED']);
    expect(steps[0]!.error).toMatchObject({ code: 'CANCELLED' });
    expect(typesOf(await h.events(job.id)).slice(-5)).toEqual(['step.failed', 'step.skipped', 'step.started', 'step.completed', 'job.cancelled']);
  });

  it('on a timeout signal, runs CLEANUP and requeues with error TIMEOUT (row 12)', async () => {
    const { worker, metrics } = await h.startWorker({ stepTypes: [block.handler] });
    const job = await h.createJob({
      maxAttempts: 2,
      steps: [
        { name: 'hold', phase: 'EXECUTION', type: 'BLOCK', spec: { key: 'timeout' } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
    await h.dispatch(job.id, 1);
    await block.started('timeout');
    h.ns.nc.publish(h.ns.names.subjects.cancel(worker.id), JSON.stringify({ v: 1, jobId: job.id, attempt: 1, reason: 'timeout' }));
    expect((await ended).outcome).toBe('RETRY');
    const row = await h.job(job.id);
    expect(row).toMatchObject({ status: 'QUEUED', attempt: 2, failures: 1 });
    expect(row.error).toMatchObject({ code: 'TIMEOUT' });
    expect(await timedOut(metrics)).toBe(1);
  });

  it('enforces the job timeout itself and fails the job with TIMEOUT', async () => {
    const { worker, metrics } = await h.startWorker({ stepTypes: [block.handler] });
    const job = await h.createJob({
      maxAttempts: 1,
      timeoutMs: 300,
      steps: [
        { name: 'hold', phase: 'EXECUTION', type: 'BLOCK', spec: { key: 'deadline' } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('FAILED');
    expect((await h.job(job.id)).error).toMatchObject({ code: 'TIMEOUT' });
    expect((await h.steps(job.id)).map((s) => s.status)).toEqual(['FAILED', 'COMPLETED']);
    expect(await timedOut(metrics)).toBe(1);
  });

  it('does not count a step’s own timeout as the job’s, though the job’s deadline passes during CLEANUP', async () => {
    const { worker, metrics } = await h.startWorker();
    const job = await h.createJob({
      maxAttempts: 1,
      timeoutMs: 600,
      steps: [
        { name: 'slow', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['sleep', '5'], timeoutMs: 100 } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'COMMAND', spec: { argv: ['sleep', '1'] } },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('FAILED');
    expect((await h.steps(job.id))[0]!.error).toMatchObject({ code: 'TIMEOUT', message: expect.stringContaining('the step ran past') });
    expect(await timedOut(metrics)).toBe(0);
  });

  it('past the deadline, lets a hanging CLEANUP step go once the scheduler has ended the attempt', async () => {
    const { worker, metrics } = await h.startWorker({ stepTypes: [block.handler], settings: { killGraceMs: 200 } });
    const job = await h.createJob({
      timeoutMs: 300,
      steps: [
        { name: 'hold', phase: 'EXECUTION', type: 'BLOCK', spec: { key: 'overrun-main' } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'BLOCK', spec: { key: 'overrun-cleanup' } },
      ],
    });
    const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
    await h.dispatch(job.id, 1);
    // The deadline interrupted the main step; CLEANUP hangs, and only fencing interrupts it.
    await block.started('overrun-cleanup');
    await new Promise((r) => setTimeout(r, 500));
    expect((await h.job(job.id)).status).toBe('RUNNING');
    // The scheduler's timeout once its grace is over: it ends the attempt without the worker.
    await h.pool.query(`UPDATE runner_jobs SET status = 'QUEUED', attempt = attempt + 1, worker_id = NULL WHERE id = $1`, [job.id]);
    expect((await ended).outcome).toBe('FENCED');
    // The scheduler ended the attempt, and counts it: a worker counts only the attempts it ends.
    expect(await timedOut(metrics)).toBe(0);
  });

  it('leaves no job directory behind after its attempts', async () => {
    expect(await readdir(h.workRoot)).toEqual([]);
  });
});
