import { beforeAll, describe, expect, it } from 'vitest';
import { ApproveCommand, Headers, RetryCommand, type JobSpecInput } from '@gantry/contracts';
import { BatchResult, CommandAccepted } from '../schemas.js';
import { complete, fail, gatedSpec, park, queue, start } from '../testing/fixtures.js';
import type { TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';
import { streamMessages } from '../testing/stream-read.js';

const t = useTestApi();
let ws: TestWorkspace;

beforeAll(async () => {
  ws = await t.api.workspace();
});

async function submit(spec: JobSpecInput): Promise<{ id: string; steps: string[] }> {
  const res = await t.api.call('POST', '/runner-jobs/batch', { token: ws.writer, body: { jobs: [spec] } });
  const id = BatchResult.parse(res.body).jobs[0]!.id;
  const { rows } = await t.api.pool.query<{ id: string }>('SELECT id FROM job_steps WHERE job_id = $1 ORDER BY ordinal', [id]);
  return { id, steps: rows.map((r) => r.id) };
}

const simple: JobSpecInput = { type: 'decide', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] };

async function commands(kind: 'retry' | 'approve') {
  return streamMessages(t.ns.jsm, t.ns.names.streams.commands, t.ns.names.subjects.command(kind));
}

async function statusOf(id: string): Promise<string> {
  return (await t.api.pool.query('SELECT status FROM runner_jobs WHERE id = $1', [id])).rows[0].status;
}

describe('POST /runner-jobs/:id/retry', () => {
  it('publishes a retry command for a FAILED job (202) and leaves the move to the scheduler', async () => {
    const { id } = await submit(simple);
    await t.writer.write(queue(id));
    await t.writer.write(start(id));
    await t.writer.write(fail(id));
    const res = await t.api.call('POST', `/runner-jobs/${id}/retry`, { token: ws.writer, headers: { 'x-request-id': 'req-retry' } });
    expect(res.status).toBe(202);
    const accepted = CommandAccepted.parse(res.body);
    expect(accepted).toMatchObject({ jobId: id, kind: 'retry' });
    const [message] = (await commands('retry')).filter((m) => m.header(Headers.msgId) === accepted.commandId);
    expect(message!.header(Headers.requestId)).toBe('req-retry');
    expect(message!.header(Headers.token)).toBe(ws.writer);
    expect(message!.header(Headers.workspace)).toBe(ws.id);
    expect(RetryCommand.parse(message!.body)).toMatchObject({ v: 1, kind: 'retry', id: accepted.commandId, jobId: id, workspaceId: ws.id });
    expect(await statusOf(id)).toBe('FAILED');

    // The same request again is the same command: JetStream keeps one.
    const again = CommandAccepted.parse((await t.api.call('POST', `/runner-jobs/${id}/retry`, { token: ws.writer })).body);
    expect(again.commandId).toBe(accepted.commandId);
    expect((await commands('retry')).filter((m) => m.header(Headers.msgId) === accepted.commandId)).toHaveLength(1);
  });

  it('publishes the retry again when the first copy was settled without effect (dead-lettered), not only within the duplicate window', async () => {
    const { id } = await submit(simple);
    await t.writer.write(queue(id));
    await t.writer.write(start(id));
    await t.writer.write(fail(id));
    const retry = async () => CommandAccepted.parse((await t.api.call('POST', `/runner-jobs/${id}/retry`, { token: ws.writer })).body);
    const withId = async (commandId: string) => (await commands('retry')).filter((m) => m.header(Headers.msgId) === commandId);
    const first = await retry();
    const [stored] = await withId(first.commandId);
    // The scheduler settles it without effect (a dead letter: its token was revoked meanwhile):
    // acked, so the work queue drops it; the job stays FAILED.
    await t.ns.jsm.streams.deleteMessage(t.ns.names.streams.commands, stored!.seq);
    const second = await retry();
    expect(second.commandId).not.toBe(first.commandId);
    const [again] = await withId(second.commandId);
    expect(RetryCommand.parse(again!.body)).toMatchObject({ id: second.commandId, jobId: id, workspaceId: ws.id });
    // While that one waits for the scheduler, a repeat is the same command again.
    expect((await retry()).commandId).toBe(second.commandId);
    expect(await withId(second.commandId)).toHaveLength(1);
  });

  it('publishes a retry command for a CANCELLED job, with no body or an empty one, and refuses unknown fields', async () => {
    const { id } = await submit(simple);
    await t.api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.writer });
    const unknown = await t.api.call('POST', `/runner-jobs/${id}/retry`, { token: ws.writer, body: { bogus: 1 } });
    expect(unknown.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED' });
    expect((await t.api.call('POST', `/runner-jobs/${id}/retry`, { token: ws.writer, body: {} })).status).toBe(202);
    const res = await t.api.call('POST', `/runner-jobs/${id}/retry`, { token: ws.writer });
    expect(res.status).toBe(202);
  });

  it('refuses a job that is not FAILED or CANCELLED (409) and publishes nothing', async () => {
    const pending = await submit(simple);
    const running = await submit(simple);
    await t.writer.write(queue(running.id));
    await t.writer.write(start(running.id));
    const done = await submit(simple);
    await t.writer.write(queue(done.id));
    await t.writer.write(start(done.id));
    await t.writer.write(complete(done.id));
    const before = (await commands('retry')).length;
    for (const { id } of [pending, running, done]) {
      const res = await t.api.call('POST', `/runner-jobs/${id}/retry`, { token: ws.writer });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'INVALID_TRANSITION' });
    }
    expect(await commands('retry')).toHaveLength(before);
    expect((await t.api.call('POST', `/runner-jobs/${pending.id}/retry`, { token: ws.reader })).status).toBe(403);
  });
});

describe('POST /runner-jobs/:id/steps/:stepId/approve|reject', () => {
  async function parked(): Promise<{ id: string; steps: string[] }> {
    const job = await submit(gatedSpec());
    await t.writer.write(queue(job.id));
    await t.writer.write(start(job.id));
    await t.writer.write(park(job.id, job.steps[1]!));
    return job;
  }

  it.each(['approve', 'reject'] as const)('publishes the %s decision for a waiting approval gate (202)', async (decision) => {
    const { id, steps } = await parked();
    const res = await t.api.call('POST', `/runner-jobs/${id}/steps/${steps[1]}/${decision}`, {
      token: ws.admin,
      body: { comment: 'looks good' },
    });
    expect(res.status, res.text).toBe(202);
    const accepted = CommandAccepted.parse(res.body);
    expect(accepted).toMatchObject({ jobId: id, kind: 'approve', decision });
    const [message] = (await commands('approve')).filter((m) => m.header(Headers.msgId) === accepted.commandId);
    expect(ApproveCommand.parse(message!.body)).toMatchObject({ jobId: id, stepId: steps[1], decision, comment: 'looks good', workspaceId: ws.id });
    expect(message!.header(Headers.token)).toBe(ws.admin);
    expect(await statusOf(id)).toBe('WAITING');
  });

  it('publishes a decision again when its first copy was settled without effect', async () => {
    const { id, steps } = await parked();
    const approve = async () => CommandAccepted.parse((await t.api.call('POST', `/runner-jobs/${id}/steps/${steps[1]}/approve`, { token: ws.admin })).body);
    const first = await approve();
    const [stored] = (await commands('approve')).filter((m) => m.header(Headers.msgId) === first.commandId);
    await t.ns.jsm.streams.deleteMessage(t.ns.names.streams.commands, stored!.seq);
    const second = await approve();
    expect(second.commandId).not.toBe(first.commandId);
    const [again] = (await commands('approve')).filter((m) => m.header(Headers.msgId) === second.commandId);
    expect(ApproveCommand.parse(again!.body)).toMatchObject({ id: second.commandId, jobId: id, stepId: steps[1], decision: 'approve' });
  });

  it('refuses a step that is not a waiting approval gate (409)', async () => {
    const { id, steps } = await parked();
    const notGate = await t.api.call('POST', `/runner-jobs/${id}/steps/${steps[0]}/approve`, { token: ws.admin });
    expect(notGate.body).toMatchObject({ status: 409, code: 'INVALID_TRANSITION', detail: expect.stringContaining('not an approval gate') });
    const fresh = await submit(gatedSpec());
    const notWaiting = await t.api.call('POST', `/runner-jobs/${fresh.id}/steps/${fresh.steps[1]}/approve`, { token: ws.admin });
    expect(notWaiting.body).toMatchObject({ status: 409, code: 'INVALID_TRANSITION' });
  });

  it('answers 404 for a step of another job, and 403 without jobs:admin', async () => {
    const { id } = await parked();
    const other = await submit(gatedSpec());
    expect((await t.api.call('POST', `/runner-jobs/${id}/steps/${other.steps[1]}/approve`, { token: ws.admin })).status).toBe(404);
    const waiting = await parked();
    const res = await t.api.call('POST', `/runner-jobs/${waiting.id}/steps/${waiting.steps[1]}/approve`, { token: ws.writer });
    expect(res.body).toMatchObject({ status: 403, code: 'FORBIDDEN', detail: expect.stringContaining('jobs:admin') });
    const bad = await t.api.call('POST', `/runner-jobs/${waiting.id}/steps/${waiting.steps[1]}/reject`, { token: ws.admin, body: { why: 'no' } });
    expect(bad.body).toMatchObject({ status: 400, errors: [{ path: 'why' }] });
  });
});
