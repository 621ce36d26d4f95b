import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { CancelSignal, Headers, type JobSpecInput } from '@gantry/contracts';
import { createJobs, createToken, createWorkspace, jobSpec } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { betweenReadAndWrite, deadLetterCodes, deadLetters } from '../testing/commands.js';
import { publishCommand, waitFor } from '../testing/harness.js';

const h = useScheduler();
let workspaceId: string;
let token: string;
/** A token that may decide gates (jobs:admin), as the API's approve route requires. */
let admin: string;

beforeAll(async () => {
  workspaceId = await createWorkspace(h.pool);
  token = await createToken(h.pool, workspaceId);
  admin = await createToken(h.pool, workspaceId, { scopes: ['jobs:admin'] });
});

const job: JobSpecInput = { type: 'nats', steps: [{ name: 'only', phase: 'EXECUTION', type: 'NOOP' }] };

async function status(id: string): Promise<{ status: string; attempt: number } | undefined> {
  const { rows } = await h.pool.query('SELECT status, attempt FROM runner_jobs WHERE id = $1', [id]);
  return rows[0];
}

async function eventTypes(id: string): Promise<string[]> {
  const { rows } = await h.pool.query('SELECT type FROM job_events WHERE job_id = $1 ORDER BY sequence', [id]);
  return rows.map((r) => r.type);
}


/**
 * `command` delivered again, as a redelivery after a pass whose answer was lost brings it (another
 * message id, so that the stream does not drop it as a duplicate publish); resolves once the
 * consumer has settled every command.
 */
async function deliverAgain(command: { id: string; kind: 'cancel' | 'retry' | 'approve' }): Promise<void> {
  const again = natsHeaders();
  again.set(Headers.token, token);
  await jetstream(h.ns.nc).publish(h.ns.names.subjects.command(command.kind), JSON.stringify(command), { msgID: `${command.id}:again`, headers: again });
  await waitFor(async () => {
    const info = await h.ns.jsm.consumers.info(h.ns.names.streams.commands, h.ns.names.consumers.scheduler);
    return info.num_pending === 0 && info.num_ack_pending === 0;
  }, 10_000, `the ${command.kind} delivered again handled`);
}

describe('submit commands', () => {
  it('queue a job the API stored as PENDING', async () => {
    const [pending] = await createJobs(h.pool, workspaceId, 1, { status: 'PENDING' });
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobId: pending!.id, job: { ...job } });
    await waitFor(async () => (await status(pending!.id))?.status === 'QUEUED');
    expect(await status(pending!.id)).toEqual({ status: 'QUEUED', attempt: 1 });
    expect(await eventTypes(pending!.id)).toEqual(['job.created', 'job.queued']);
  });

  it('create a job the database has never seen when the token allows it, and ignore repeats', async () => {
    const id = randomUUID();
    const command = { v: 1, kind: 'submit', id, workspaceId, job };
    await publishCommand(h.ns, 'submit', command, { [Headers.token]: token });
    await waitFor(async () => (await status(id)) !== undefined);
    // The same command again (a new NATS message id, so JetStream does not drop it).
    const js = jetstream(h.ns.nc);
    await js.publish(h.ns.names.subjects.command('submit'), JSON.stringify(command), { msgID: randomUUID() });
    const marker = randomUUID();
    await publishCommand(h.ns, 'submit', { ...command, id: marker }, { [Headers.token]: token });
    await waitFor(async () => (await status(marker)) !== undefined);
    expect(await status(id)).toEqual({ status: 'QUEUED', attempt: 1 });
    expect(await eventTypes(id)).toEqual(['job.created', 'job.queued']);
  });

  it('create a batch of jobs from one command, each under its own id, once however often it arrives', async () => {
    const [pending] = await createJobs(h.pool, workspaceId, 1, { status: 'PENDING' });
    const ids = [randomUUID(), randomUUID(), randomUUID()];
    const command = {
      v: 1,
      kind: 'submit',
      id: randomUUID(),
      workspaceId,
      jobs: [...ids.map((jobId, i) => ({ jobId, job: { ...job, priority: 10 + i } })), { jobId: pending!.id, job }],
    };
    await publishCommand(h.ns, 'submit', command, { [Headers.token]: token });
    await waitFor(async () => (await status(ids[2]!)) !== undefined && (await status(pending!.id))?.status === 'QUEUED');
    const js = jetstream(h.ns.nc);
    const again = natsHeaders();
    again.set(Headers.token, token);
    await js.publish(h.ns.names.subjects.command('submit'), JSON.stringify(command), { msgID: randomUUID(), headers: again });
    const marker = randomUUID();
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: marker, workspaceId, job }, { [Headers.token]: token });
    await waitFor(async () => (await status(marker)) !== undefined);

    const { rows } = await h.pool.query<{ id: string; priority: number; status: string }>(
      'SELECT id, priority, status FROM runner_jobs WHERE id = ANY($1::uuid[]) ORDER BY priority',
      [ids],
    );
    expect(rows).toEqual(ids.map((id, i) => ({ id, priority: 10 + i, status: 'QUEUED' })));
    for (const id of [...ids, pending!.id]) expect(await eventTypes(id)).toEqual(['job.created', 'job.queued']);
  });

  it('treat a job whose idempotency key names the same job as a repeat, and dead-letter one whose key names a different job', async () => {
    const key = `key-${randomUUID()}`;
    const original = randomUUID();
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: original, workspaceId, job: { ...job, idempotencyKey: key, payload: { n: 1 } } }, { [Headers.token]: token });
    await waitFor(async () => (await status(original)) !== undefined);
    const before = (await deadLetters(h.ns)).length;
    const [stored] = await createJobs(h.pool, workspaceId, 1, { status: 'PENDING' });
    // The same job under another id, alone (the carried way) and beside a stored job (the reading way): no-ops.
    const sameAlone = randomUUID();
    const sameBeside = randomUUID();
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: sameAlone, workspaceId, job: { ...job, payload: { n: 1 }, idempotencyKey: key } }, { [Headers.token]: token });
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobs: [{ jobId: stored!.id }, { jobId: sameBeside, job: { ...job, idempotencyKey: key, payload: { n: 1 } } }] }, { [Headers.token]: token });
    // A different job under the key, each way: dead-lettered; the command's other jobs stand.
    const [otherStored] = await createJobs(h.pool, workspaceId, 1, { status: 'PENDING' });
    const fresh = [randomUUID(), randomUUID()];
    const conflicts = [randomUUID(), randomUUID()];
    const different = { ...job, idempotencyKey: key, payload: { n: 2 } };
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobs: [{ jobId: fresh[0], job }, { jobId: conflicts[0], job: different }] }, { [Headers.token]: token });
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobs: [{ jobId: otherStored!.id }, { jobId: fresh[1], job }, { jobId: conflicts[1], job: different }] }, { [Headers.token]: token });
    // Two jobs of one command under one key: refused whole, as the API's batch route refuses it.
    const twice = [randomUUID(), randomUUID()];
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobs: twice.map((jobId, n) => ({ jobId, job: { ...job, idempotencyKey: `twice-${key}`, payload: { n } } })) }, { [Headers.token]: token });
    await waitFor(async () => (await deadLetters(h.ns)).length >= before + 3, 10_000, 'the conflicts dead-lettered');
    await waitFor(async () => (await status(otherStored!.id))?.status === 'QUEUED' && (await status(stored!.id))?.status === 'QUEUED');
    const letters = (await deadLetters(h.ns)).slice(before);
    expect(letters.map((d) => [d.code, d.reason])).toEqual(expect.arrayContaining([
      ['IDEMPOTENCY_CONFLICT', `job ${conflicts[0]}: idempotency key ${JSON.stringify(key)} was used for a different job (${original})`],
      ['IDEMPOTENCY_CONFLICT', `job ${conflicts[1]}: idempotency key ${JSON.stringify(key)} was used for a different job (${original})`],
      ['VALIDATION_FAILED', expect.stringContaining('repeats the idempotency key of jobs.0')],
    ]));
    expect(letters).toHaveLength(3);
    for (const id of [sameAlone, sameBeside, ...conflicts, ...twice]) expect(await status(id)).toBeUndefined();
    for (const id of fresh) expect(await status(id)).toEqual({ status: 'QUEUED', attempt: 1 });
  });

  it('dead-letter a batch that mixes in another workspace’s job, or repeats an id, and queue none of it', async () => {
    const otherWs = await createWorkspace(h.pool);
    const [foreign] = await createJobs(h.pool, otherWs, 1, { status: 'PENDING' });
    const fresh = randomUUID();
    const before = (await deadLetters(h.ns)).length;
    const mixed = { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobs: [{ jobId: fresh, job }, { jobId: foreign!.id, job }] };
    const repeated = { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobs: [{ jobId: fresh, job }, { jobId: fresh, job }] };
    const both = { v: 1, kind: 'submit', id: randomUUID(), workspaceId, job, jobs: [{ jobId: randomUUID(), job }] };
    for (const c of [mixed, repeated, both]) await publishCommand(h.ns, 'submit', c, { [Headers.token]: token });
    await waitFor(async () => (await deadLetters(h.ns)).length === before + 3);
    expect((await deadLetters(h.ns)).slice(before).map((d) => d.code).sort()).toEqual(['FORBIDDEN', 'VALIDATION_FAILED', 'VALIDATION_FAILED']);
    expect(await status(fresh)).toBeUndefined();
    expect(await status(foreign!.id)).toEqual({ status: 'PENDING', attempt: 0 });
  });

  it('dead-letter bad commands with their reason while the good ones behind them proceed', async () => {
    const subject = h.ns.names.subjects.command('submit');
    const js = jetstream(h.ns.nc);
    const good = randomUUID();
    const otherWs = await createWorkspace(h.pool);
    const otherToken = await createToken(h.pool, otherWs);
    const readOnly = await createToken(h.pool, workspaceId, { scopes: ['jobs:read'] });
    const bad: [string, string | Uint8Array, Record<string, string>][] = [
      ['MALFORMED_JSON', '{"v":1,', {}],
      ['MALFORMED_JSON', new Uint8Array([0xff, 0xfe, 0x7b]), {}],
      ['UNSUPPORTED_VERSION', JSON.stringify({ v: 9, kind: 'submit', id: randomUUID(), workspaceId, job }), {}],
      ['VALIDATION_FAILED', JSON.stringify({ v: 1, kind: 'submit', id: randomUUID(), workspaceId, job: { ...job, steps: [] }, extra: 1 }), {}],
      ['PAYLOAD_TOO_LARGE', JSON.stringify({ v: 1, kind: 'submit', id: randomUUID(), workspaceId, job: { ...job, payload: { x: 'x'.repeat(600_000) } } }), {}],
      // Values PostgreSQL cannot store: refused by the schema, never failing the pass they are in.
      ['VALIDATION_FAILED', JSON.stringify({ v: 1, kind: 'submit', id: randomUUID(), workspaceId, job: { ...job, type: 'a\u0000b' } }), { [Headers.token]: token }],
      ['VALIDATION_FAILED', JSON.stringify({ v: 1, kind: 'submit', id: randomUUID(), workspaceId, job: { ...job, runAt: '0000-01-01T00:00:00Z' } }), { [Headers.token]: token }],
      // Delayed beyond Limits.maxDelayMs (a year), as the API refuses it.
      ['LIMIT_EXCEEDED', JSON.stringify({ v: 1, kind: 'submit', id: randomUUID(), workspaceId, job: { ...job, runAt: new Date(Date.now() + 400 * 86_400_000).toISOString() } }), { [Headers.token]: token }],
      ['UNAUTHENTICATED', JSON.stringify({ v: 1, kind: 'submit', id: randomUUID(), workspaceId, job }), {}],
      ['UNAUTHENTICATED', JSON.stringify({ v: 1, kind: 'submit', id: randomUUID(), workspaceId, job }), { [Headers.token]: 'gty_nonsense' }],
      ['FORBIDDEN', JSON.stringify({ v: 1, kind: 'submit', id: randomUUID(), workspaceId, job }), { [Headers.token]: otherToken }],
      ['FORBIDDEN', JSON.stringify({ v: 1, kind: 'submit', id: randomUUID(), workspaceId, job }), { [Headers.token]: readOnly }],
      // Queued by the workspace its header names, and read at its pass.
      ['MALFORMED_JSON', '{"v":1,', { [Headers.workspace]: workspaceId }],
      ['VALIDATION_FAILED', JSON.stringify({ v: 1, kind: 'submit', id: randomUUID(), workspaceId, job }), { [Headers.token]: token, [Headers.workspace]: otherWs }],
      // Queued by the first workspaceId its body names (a peek), which JSON.parse does not keep.
      ['VALIDATION_FAILED', `{"v":1,"kind":"submit","id":"${randomUUID()}","workspaceId":"${otherWs}","job":${JSON.stringify(job)},"workspaceId":"${workspaceId}"}`, { [Headers.token]: token }],
    ];
    const before = (await deadLetters(h.ns)).length;
    const msgIds: string[] = [];
    for (const [, data, hdrs] of bad) {
      const hh = natsHeaders();
      for (const [k, v] of Object.entries(hdrs)) hh.set(k, v);
      // A stale Gantry-Original-Msg-Id on the command must not survive into its dead letter.
      hh.set(Headers.originalMsgId, 'stale');
      const msgID = randomUUID();
      msgIds.push(msgID);
      await js.publish(subject, data, { msgID, headers: hh });
    }
    // Published with an expectation of the commands stream, which JetStream stores with the
    // command: the dead letter's publish must not carry it to the dead-letter stream.
    const expecting = randomUUID();
    msgIds.push(expecting);
    await js.publish(subject, JSON.stringify({ v: 1, kind: 'submit', id: randomUUID(), workspaceId, job }), { msgID: expecting, expect: { streamName: h.ns.names.streams.commands } });
    await js.publish(h.ns.names.subjects.command('approve').replace('approve', 'bogus'), '{}', { msgID: randomUUID() });
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: good, workspaceId, job }, { [Headers.token]: token });
    const named = randomUUID();
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: named, workspaceId, job }, { [Headers.token]: token, [Headers.workspace]: workspaceId });
    await waitFor(async () => (await status(good))?.status === 'QUEUED');
    // Without the header, and naming its workspace after its job: the peek reads that far.
    const peeked = randomUUID();
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: peeked, job, workspaceId }, { [Headers.token]: token });
    await waitFor(async () => (await status(named))?.status === 'QUEUED');
    await waitFor(async () => (await status(peeked))?.status === 'QUEUED');
    await waitFor(async () => (await deadLetters(h.ns)).length === before + bad.length + 2);
    const letters = (await deadLetters(h.ns)).slice(before);
    expect(letters.map((d) => d.code).sort()).toEqual([...bad.map(([code]) => code), 'UNAUTHENTICATED', 'UNKNOWN_SUBJECT'].sort());
    expect(letters.filter((d) => d.headers.has('Nats-Expected-Stream'))).toEqual([]);
    expect(letters.filter((d) => d.reason.includes(`the ${Headers.workspace} header names workspace "${otherWs}"`))).toHaveLength(1);
    expect(letters.filter((d) => d.reason.includes(`names workspaceId twice: first "${otherWs}", then "${workspaceId}"`))).toHaveLength(1);
    // The token never reaches the dead-letter stream; the command's Nats-Msg-Id travels as
    // Gantry-Original-Msg-Id, and the dead letter has its own.
    const info = await h.ns.jsm.streams.info(h.ns.names.streams.deadLetters);
    const originalIds: string[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq; seq++) {
      const m = await h.ns.jsm.streams.getMessage(h.ns.names.streams.deadLetters, { seq });
      expect(m?.header.get(Headers.token) ?? '').toBe('');
      if (m && seq > info.state.last_seq - letters.length) {
        originalIds.push(m.header.get(Headers.originalMsgId));
        expect(m.header.get(Headers.msgId)).toBe(`dlq:${m.header.get(Headers.originalSequence)}`);
      }
    }
    expect(originalIds.filter((id) => msgIds.includes(id)).sort()).toEqual([...msgIds].sort());
  });
});

describe('cancel, retry and approve commands', () => {
  it('cancel a queued job at once and send a running job’s worker the signal', async () => {
    const [queued, running] = await createJobs(h.pool, workspaceId, 2);
    await h.pool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'w-cancel', started_at = now() WHERE id = $1`, [running!.id]);
    const signals: CancelSignal[] = [];
    const sub = h.ns.nc.subscribe(h.ns.names.subjects.cancel('w-cancel'), { callback: (_e, m) => {
      signals.push(CancelSignal.parse(m.json()));
    } });
    for (const target of [queued!, running!]) {
      await publishCommand(h.ns, 'cancel', { v: 1, kind: 'cancel', id: randomUUID(), workspaceId, jobId: target.id, reason: 'test' }, { [Headers.token]: token });
    }
    await waitFor(async () => (await status(queued!.id))?.status === 'CANCELLED');
    await waitFor(() => signals.length > 0);
    sub.unsubscribe();
    expect(signals[0]).toEqual({ v: 1, jobId: running!.id, attempt: 1, reason: 'cancelled' });
    expect(await eventTypes(queued!.id)).toEqual(['job.created', 'job.queued', 'job.cancelled']);
    expect(await eventTypes(running!.id)).toEqual(['job.created', 'job.queued', 'job.cancel_requested']);
    // The command's reason is on the event that ends the job, not only on the request.
    const payloads = await h.pool.query(
      `SELECT job_id, payload FROM job_events WHERE job_id = ANY($1::uuid[]) AND type IN ('job.cancelled', 'job.cancel_requested')`,
      [[queued!.id, running!.id]],
    );
    expect(Object.fromEntries(payloads.rows.map((r) => [r.job_id, r.payload]))).toEqual({
      [queued!.id]: { reason: 'test', from: 'QUEUED' },
      [running!.id]: { reason: 'test' },
    });
    expect((await status(running!.id))?.status).toBe('RUNNING');
  });

  it('decide a cancel again when a worker claims its job between the read and the write', async () => {
    const [racing] = await createJobs(h.pool, workspaceId, 1);
    const signals: CancelSignal[] = [];
    const sub = h.ns.nc.subscribe(h.ns.names.subjects.cancel('w-race'), { callback: (_e, m) => {
      signals.push(CancelSignal.parse(m.json()));
    } });
    // The pass reads the job QUEUED; a worker's claim commits before the pass writes its cancel.
    const claim = betweenReadAndWrite(h.pool, racing!.id, async (query) => {
      await query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'w-race', started_at = now() WHERE id = $1`, [racing!.id]);
    });
    try {
      await publishCommand(h.ns, 'cancel', { v: 1, kind: 'cancel', id: randomUUID(), workspaceId, jobId: racing!.id, reason: 'raced' }, { [Headers.token]: token });
      await waitFor(() => signals.length > 0, 10_000, 'the cancel signal');
    } finally {
      claim.restore();
      sub.unsubscribe();
    }
    expect(claim.made()).toBe(true);
    expect(signals[0]).toEqual({ v: 1, jobId: racing!.id, attempt: 1, reason: 'cancelled' });
    expect(await eventTypes(racing!.id)).toEqual(['job.created', 'job.queued', 'job.cancel_requested']);
  });

  it('apply a cancel once, though it arrives again after a retry queued the job it cancelled at its gate', async () => {
    const spec = jobSpec({ steps: [{ name: 'gate', phase: 'VALIDATION', type: 'GATE', spec: { kind: 'approval' } }] });
    const [gated] = await createJobs(h.pool, workspaceId, 1, { spec });
    await h.pool.query(`UPDATE runner_jobs SET status = 'WAITING', attempt = 1 WHERE id = $1`, [gated!.id]);
    await h.pool.query(`UPDATE job_steps SET status = 'WAITING' WHERE job_id = $1`, [gated!.id]);
    const cancel = { v: 1, kind: 'cancel' as const, id: randomUUID(), workspaceId, jobId: gated!.id, reason: 'once' };
    await publishCommand(h.ns, 'cancel', cancel, { [Headers.token]: token });
    await waitFor(async () => (await status(gated!.id))?.status === 'CANCELLED');
    await publishCommand(h.ns, 'retry', { v: 1, kind: 'retry', id: randomUUID(), workspaceId, jobId: gated!.id }, { [Headers.token]: token });
    await waitFor(async () => (await status(gated!.id))?.status === 'QUEUED');
    await deliverAgain(cancel);
    expect(await status(gated!.id)).toEqual({ status: 'QUEUED', attempt: 2 });
    expect((await eventTypes(gated!.id)).filter((t) => t === 'job.cancelled')).toHaveLength(1);
  });

  it('do not cancel the next attempt of a job when its first attempt’s cancel arrives again', async () => {
    const [job] = await createJobs(h.pool, workspaceId, 1);
    await h.pool.query(`UPDATE runner_jobs SET status = 'RUNNING', attempt = 1, worker_id = 'w-first', started_at = now() WHERE id = $1`, [job!.id]);
    const cancel = { v: 1, kind: 'cancel' as const, id: randomUUID(), workspaceId, jobId: job!.id, reason: 'the first attempt' };
    await publishCommand(h.ns, 'cancel', cancel, { [Headers.token]: token });
    await waitFor(async () => (await eventTypes(job!.id)).includes('job.cancel_requested'));
    // The first attempt ended cancelled, the user retried the job, and a worker runs attempt 2.
    await h.pool.query(`UPDATE runner_jobs SET status = 'CANCELLED', worker_id = NULL WHERE id = $1`, [job!.id]);
    await publishCommand(h.ns, 'retry', { v: 1, kind: 'retry', id: randomUUID(), workspaceId, jobId: job!.id }, { [Headers.token]: token });
    await waitFor(async () => (await status(job!.id))?.attempt === 2);
    await h.pool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'w-second', started_at = now() WHERE id = $1`, [job!.id]);
    const signals: CancelSignal[] = [];
    const sub = h.ns.nc.subscribe(h.ns.names.subjects.cancel('w-second'), { callback: (_e, m) => void signals.push(CancelSignal.parse(m.json())) });
    await deliverAgain(cancel);
    await h.ns.nc.flush();
    sub.unsubscribe();
    expect(signals).toEqual([]);
    expect((await eventTypes(job!.id)).filter((t) => t === 'job.cancel_requested')).toHaveLength(1);
  });

  it('handle a retry and then a cancel of the same job in one pass in their order: the job ends cancelled', async () => {
    const [blocker, target] = await createJobs(h.pool, workspaceId, 2);
    await h.pool.query(`UPDATE runner_jobs SET status = 'FAILED', failures = 1 WHERE id = $1`, [target!.id]);
    // The workspace's pass that cancels `blocker` is held at its read until both commands for
    // `target` have reached the scheduler, so that its next pass takes the two together.
    const query = h.pool.query.bind(h.pool) as (...args: unknown[]) => Promise<unknown>;
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    let held = false;
    const spy = vi.spyOn(h.pool, 'query').mockImplementation((async (...args: unknown[]) => {
      const config = args[0] as { name?: string; values?: unknown[] };
      if (!held && config.name === 'gantry_read_command_jobs' && String(config.values?.[0]).includes(blocker!.id)) {
        held = true;
        await released;
      }
      return query(...args);
    }) as never);
    const send = (kind: 'cancel' | 'retry', jobId: string) =>
      publishCommand(h.ns, kind, { v: 1, kind, id: randomUUID(), workspaceId, jobId }, { [Headers.token]: token });
    try {
      await send('cancel', blocker!.id);
      await waitFor(() => held, 10_000, 'the first pass held');
      await send('retry', target!.id);
      await send('cancel', target!.id);
      const delivered = async () => (await h.ns.jsm.consumers.info(h.ns.names.streams.commands, h.ns.names.consumers.scheduler)).num_ack_pending;
      await waitFor(async () => (await delivered()) === 3, 10_000, 'both commands delivered');
      release();
      await waitFor(async () => ['CANCELLED', 'QUEUED'].includes((await status(target!.id))?.status ?? '') && (await delivered()) === 0, 10_000, 'the pass');
    } finally {
      release();
      spy.mockRestore();
    }
    expect(await status(target!.id)).toEqual({ status: 'CANCELLED', attempt: 2 });
  });

  it('retry a failed job as a new attempt with its steps reset', async () => {
    const [failed] = await createJobs(h.pool, workspaceId, 1);
    await h.pool.query(`UPDATE runner_jobs SET status = 'FAILED', failures = 3 WHERE id = $1`, [failed!.id]);
    await h.pool.query(`UPDATE job_steps SET status = 'FAILED' WHERE job_id = $1`, [failed!.id]);
    await publishCommand(h.ns, 'retry', { v: 1, kind: 'retry', id: randomUUID(), workspaceId, jobId: failed!.id }, { [Headers.token]: token });
    await waitFor(async () => (await status(failed!.id))?.status === 'QUEUED');
    const { rows } = await h.pool.query('SELECT attempt, failures FROM runner_jobs WHERE id = $1', [failed!.id]);
    expect(rows[0]).toEqual({ attempt: 2, failures: 0 });
    const steps = await h.pool.query('SELECT DISTINCT status FROM job_steps WHERE job_id = $1', [failed!.id]);
    expect(steps.rows).toEqual([{ status: 'PENDING' }]);
  });

  it('apply a retry once, though the same command arrives again after the job failed again', async () => {
    const [failed, marker] = await createJobs(h.pool, workspaceId, 2);
    await h.pool.query(`UPDATE runner_jobs SET status = 'FAILED', failures = 3 WHERE id = $1`, [failed!.id]);
    const retry = { v: 1, kind: 'retry', id: randomUUID(), workspaceId, jobId: failed!.id };
    await publishCommand(h.ns, 'retry', retry, { [Headers.token]: token });
    await waitFor(async () => (await status(failed!.id))?.status === 'QUEUED');
    // Its second attempt fails too; then the command is delivered again (its first ack lost): the
    // same command under another message id, which the stream does not take for a duplicate.
    await h.pool.query(`UPDATE runner_jobs SET status = 'FAILED' WHERE id = $1`, [failed!.id]);
    const headers = natsHeaders();
    headers.set(Headers.token, token);
    await jetstream(h.ns.nc).publish(h.ns.names.subjects.command('retry'), JSON.stringify(retry), { msgID: randomUUID(), headers });
    // A later command of the workspace, handled after it.
    await publishCommand(h.ns, 'cancel', { v: 1, kind: 'cancel', id: randomUUID(), workspaceId, jobId: marker!.id }, { [Headers.token]: token });
    await waitFor(async () => (await status(marker!.id))?.status === 'CANCELLED');
    expect(await status(failed!.id)).toEqual({ status: 'FAILED', attempt: 2 });
    expect((await eventTypes(failed!.id)).filter((t) => t === 'job.queued')).toHaveLength(2);
  });

  it('approve, reject and cancel a job waiting at an approval gate', async () => {
    const spec = jobSpec({ steps: [{ name: 'gate', phase: 'VALIDATION', type: 'GATE', spec: { kind: 'approval' } }] });
    const [approved, rejected, cancelled] = await createJobs(h.pool, workspaceId, 3, { spec });
    for (const j of [approved!, rejected!, cancelled!]) {
      await h.pool.query(`UPDATE runner_jobs SET status = 'WAITING' WHERE id = $1`, [j.id]);
      await h.pool.query(`UPDATE job_steps SET status = 'WAITING' WHERE job_id = $1`, [j.id]);
    }
    const decide = (j: typeof approved, decision: string) =>
      publishCommand(h.ns, 'approve', { v: 1, kind: 'approve', id: randomUUID(), workspaceId, jobId: j!.id, stepId: j!.stepIds[0], decision }, { [Headers.token]: admin });
    await decide(approved, 'approve');
    await decide(rejected, 'reject');
    await waitFor(async () => (await status(approved!.id))?.status === 'QUEUED' && (await status(rejected!.id))?.status === 'FAILED');
    expect(await status(approved!.id)).toEqual({ status: 'QUEUED', attempt: 2 });
    expect((await eventTypes(approved!.id)).slice(-2)).toEqual(['gate.passed', 'job.queued']);
    expect((await eventTypes(rejected!.id)).slice(-2)).toEqual(['gate.failed', 'job.failed']);

    // A cancel ends the job and skips its gate in the same write: nobody is left to decide it.
    await publishCommand(h.ns, 'cancel', { v: 1, kind: 'cancel', id: randomUUID(), workspaceId, jobId: cancelled!.id }, { [Headers.token]: token });
    await waitFor(async () => (await status(cancelled!.id))?.status === 'CANCELLED');
    const gate = await h.pool.query('SELECT status FROM job_steps WHERE job_id = $1', [cancelled!.id]);
    expect(gate.rows).toEqual([{ status: 'SKIPPED' }]);
    expect((await eventTypes(cancelled!.id)).slice(-2)).toEqual(['step.skipped', 'job.cancelled']);
  });

  it('need the scope of their HTTP route (jobs:admin to decide a gate), and name the token as their actor', async () => {
    const spec = jobSpec({ steps: [{ name: 'gate', phase: 'VALIDATION', type: 'GATE', spec: { kind: 'approval' } }] });
    const [gated, cancelled] = await createJobs(h.pool, workspaceId, 2, { spec });
    await h.pool.query(`UPDATE runner_jobs SET status = 'WAITING' WHERE id = $1`, [gated!.id]);
    await h.pool.query(`UPDATE job_steps SET status = 'WAITING' WHERE job_id = $1`, [gated!.id]);
    const approve = (with_: string, actor: string) =>
      publishCommand(
        h.ns,
        'approve',
        { v: 1, kind: 'approve', id: randomUUID(), workspaceId, jobId: gated!.id, stepId: gated!.stepIds[0], decision: 'approve', actor },
        { [Headers.token]: with_ },
      );
    // A jobs:write token may not decide the gate, over NATS as over HTTP (403 there).
    const refused = randomUUID();
    await publishCommand(h.ns, 'approve', { v: 1, kind: 'approve', id: refused, workspaceId, jobId: gated!.id, stepId: gated!.stepIds[0], decision: 'approve' }, { [Headers.token]: token });
    await waitFor(async () => (await deadLetterCodes(h.ns, refused)).length > 0);
    expect(await deadLetterCodes(h.ns, refused)).toEqual(['FORBIDDEN']);
    expect((await status(gated!.id))?.status).toBe('WAITING');

    // An admin's approve passes it; the events name the admin's token, not the actor the command claims.
    await approve(admin, 'api:00000000-0000-4000-8000-000000000000');
    await publishCommand(h.ns, 'cancel', { v: 1, kind: 'cancel', id: randomUUID(), workspaceId, jobId: cancelled!.id, actor: 'someone-else' }, { [Headers.token]: token });
    await waitFor(async () => (await status(gated!.id))?.status === 'QUEUED' && (await status(cancelled!.id))?.status === 'CANCELLED');
    const tokenIds = async (secret: string) =>
      (await h.pool.query<{ id: string }>('SELECT id FROM api_tokens WHERE prefix = $1', [secret.slice(0, 12)])).rows[0]!.id;
    const actors = async (id: string, type: string) =>
      (await h.pool.query<{ actor: string }>('SELECT actor FROM job_events WHERE job_id = $1 AND type = $2', [id, type])).rows.map((r) => r.actor);
    expect(await actors(gated!.id, 'gate.passed')).toEqual([`api:${await tokenIds(admin)}`]);
    expect(await actors(cancelled!.id, 'job.cancelled')).toEqual([`api:${await tokenIds(token)}`]);
  });

  it('answer a job of another workspace as not found', async () => {
    const other = await createWorkspace(h.pool);
    const [foreign] = await createJobs(h.pool, other, 1);
    await publishCommand(h.ns, 'cancel', { v: 1, kind: 'cancel', id: randomUUID(), workspaceId, jobId: foreign!.id }, { [Headers.token]: token });
    await waitFor(async () => (await deadLetters(h.ns)).some((d) => d.code === 'NOT_FOUND'));
    expect((await status(foreign!.id))?.status).toBe('QUEUED');
  });
});
