/**
 * Commands that would pass a careless schema check (or crash it) and that the handlers could not
 * apply: text PostgreSQL cannot store, JSON nested deep enough to exhaust a recursive check.
 * Each one is dead-lettered with its reason at once, and never holds back, fails or crashes the
 * commands handled beside it (another workspace's included).
 */
import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { Headers, type JobSpecInput, MetricNames } from '@gantry/contracts';
import { createToken, createWorkspace } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { deadLetterCodes, deadLetters, inOnePass } from '../testing/commands.js';
import { publishCommand, waitFor } from '../testing/harness.js';

const h = useScheduler();

const job: JobSpecInput = { type: 'poison', steps: [{ name: 'only', phase: 'EXECUTION', type: 'NOOP' }] };

async function exists(id: string): Promise<boolean> {
  return (await h.pool.query('SELECT 1 FROM runner_jobs WHERE id = $1', [id])).rowCount === 1;
}

/** Submit commands nak'ed because their pass's handler failed (metric outcome `retried`). */
async function submitsRetried(): Promise<number> {
  const metric = await h.metrics.registry.getSingleMetric(MetricNames.commandsProcessed)!.get();
  return metric.values.filter((v) => v.labels.command === 'submit' && v.labels.outcome === 'retried').reduce((n, v) => n + v.value, 0);
}

describe('poison commands', () => {
  it('a submit whose actor PostgreSQL cannot store is dead-lettered with its reason and does not fail another workspace’s submit in its pass', async () => {
    const [bad, good] = [await createWorkspace(h.pool), await createWorkspace(h.pool)];
    const [badToken, goodToken] = [await createToken(h.pool, bad), await createToken(h.pool, good)];
    const badId = randomUUID();
    const goodId = randomUUID();
    await inOnePass(h, 2, async () => {
      await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: badId, workspaceId: bad, actor: 'svc\u0000x', job }, { [Headers.token]: badToken });
      await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: goodId, workspaceId: good, job }, { [Headers.token]: goodToken });
    });
    // The bad one is refused by its pass at once, the good one applied by it.
    await waitFor(async () => (await exists(goodId)) && (await deadLetters(h.ns)).some((d) => d.originalMsgId === badId), 8_000, 'both settled').catch(() => undefined);
    const letters = await deadLetters(h.ns);
    expect({
      goodCreated: await exists(goodId),
      submitsRetried: await submitsRetried(),
      goodDeadLettered: letters.filter((d) => d.originalMsgId === goodId).map((d) => d.code),
      bad: letters.filter((d) => d.originalMsgId === badId).map((d) => d.code),
    }).toEqual({ goodCreated: true, submitsRetried: 0, goodDeadLettered: [], bad: ['VALIDATION_FAILED'] });
  }, 60_000);

  it('a cancel whose reason PostgreSQL cannot store is dead-lettered VALIDATION_FAILED at once, not after its deliveries', async () => {
    const ws = await createWorkspace(h.pool);
    const token = await createToken(h.pool, ws);
    const jobId = randomUUID();
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: jobId, workspaceId: ws, job }, { [Headers.token]: token });
    await waitFor(() => exists(jobId), 10_000, 'the job');
    const cancelId = randomUUID();
    await publishCommand(h.ns, 'cancel', { v: 1, kind: 'cancel', id: cancelId, workspaceId: ws, jobId, reason: 'bad \ud800 reason' }, { [Headers.token]: token });
    await waitFor(async () => (await deadLetterCodes(h.ns, cancelId)).length > 0, 5_000, 'the cancel’s dead letter').catch(() => undefined);
    expect(await deadLetterCodes(h.ns, cancelId)).toEqual(['VALIDATION_FAILED']);
  }, 30_000);

  it('a deeply nested payload is dead-lettered, and neither crashes the leader nor holds back the command behind it', async () => {
    const ws = await createWorkspace(h.pool);
    const token = await createToken(h.pool, ws);
    const deepId = randomUUID();
    const depth = 5_000;
    const body = `{"v":1,"kind":"submit","id":"${deepId}","workspaceId":"${ws}","job":{"type":"deep","steps":[{"name":"a","phase":"EXECUTION","type":"NOOP"}],"payload":{"x":${'['.repeat(depth)}${']'.repeat(depth)}}}}`;
    expect(Buffer.byteLength(body)).toBeLessThan(512 * 1024);
    let failed: Error | undefined;
    void h.scheduler.leadership.failed.then((err) => (failed = err));
    const hdrs = natsHeaders();
    hdrs.set(Headers.token, token);
    await jetstream(h.ns.nc).publish(h.ns.names.subjects.command('submit'), body, { msgID: deepId, headers: hdrs });
    const goodId = randomUUID();
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: goodId, workspaceId: ws, job }, { [Headers.token]: token });
    await waitFor(async () => (await exists(goodId)) || failed !== undefined, 10_000, 'the good job').catch(() => undefined);
    await new Promise((r) => setTimeout(r, 300));
    expect({
      leaderFailure: failed === undefined ? null : `${failed.name}: ${failed.message}`,
      goodCreated: await exists(goodId),
      deepDeadLettered: (await deadLetterCodes(h.ns, deepId)).length > 0,
    }).toEqual({ leaderFailure: null, goodCreated: true, deepDeadLettered: true });
  }, 30_000);
});
