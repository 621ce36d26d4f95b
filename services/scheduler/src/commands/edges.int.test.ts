/**
 * Edges of dead-lettering (a command whose headers are near JetStream's limit) and of one pass's
 * submits (two workspaces naming the same new job id).
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

const job: JobSpecInput = { type: 'edges', steps: [{ name: 'only', phase: 'EXECUTION', type: 'NOOP' }] };

async function submitsApplied(): Promise<number> {
  const metric = await h.metrics.registry.getSingleMetric(MetricNames.commandsProcessed)!.get();
  return metric.values.filter((v) => v.labels.command === 'submit' && v.labels.outcome === 'applied').reduce((n, v) => n + v.value, 0);
}

describe('command edges', () => {
  it('dead-letters a refused command whose headers are close to JetStream’s 64 KiB header limit', async () => {
    const workspaceId = await createWorkspace(h.pool);
    const id = randomUUID();
    const body = JSON.stringify({ v: 1, kind: 'submit', id, workspaceId, job });
    const hdrs = natsHeaders();
    // Headers a little under JetStream's 64 KiB header limit; a Gantry-Workspace header that does
    // not match the body, so the refusal's reason (which quotes it) is about 1 KB.
    const named = 'w'.repeat(1_000);
    hdrs.set(Headers.workspace, named);
    hdrs.set('X-Trace-Baggage', 'p'.repeat(64 * 1024 - 1_000 - 400));
    await jetstream(h.ns.nc).publish(h.ns.names.subjects.command('submit'), body, { msgID: id, headers: hdrs });
    // A good command behind it, so we know its pass has run.
    const token = await createToken(h.pool, workspaceId);
    const after = randomUUID();
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: after, workspaceId, job }, { [Headers.token]: token });
    await waitFor(async () => (await h.pool.query('SELECT 1 FROM runner_jobs WHERE id = $1', [after])).rowCount === 1, 10_000, 'the good job');
    await waitFor(async () => (await deadLetterCodes(h.ns, id)).length > 0, 8_000, 'the dead letter').catch(() => undefined);
    expect(await deadLetterCodes(h.ns, id)).toEqual(['VALIDATION_FAILED']);
    // The largest original header is left out, and named; the others travel.
    const letter = (await deadLetters(h.ns)).find((d) => d.originalMsgId === id)!;
    expect(letter.headers.get(Headers.droppedHeaders)).toBe('X-Trace-Baggage');
    expect(letter.headers.get(Headers.workspace)).toBe(named);
    expect(letter.headers.get('X-Trace-Baggage')).toBe('');
  }, 30_000);

  it('a submit naming the same new job id as another workspace’s submit in its pass is refused, not acked as applied', async () => {
    const [a, b] = [await createWorkspace(h.pool), await createWorkspace(h.pool)];
    const [ta, tb] = [await createToken(h.pool, a), await createToken(h.pool, b)];
    const jobId = randomUUID();
    const [ca, cb] = [randomUUID(), randomUUID()];
    const appliedBefore = await submitsApplied();
    await inOnePass(h, 2, async () => {
      await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: ca, workspaceId: a, jobs: [{ jobId, job }] }, { [Headers.token]: ta });
      await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: cb, workspaceId: b, jobs: [{ jobId, job }] }, { [Headers.token]: tb });
    });
    await waitFor(async () => (await h.pool.query('SELECT 1 FROM runner_jobs WHERE id = $1', [jobId])).rowCount === 1, 10_000, 'the job');
    const loser = (await h.pool.query('SELECT workspace_id FROM runner_jobs WHERE id = $1', [jobId])).rows[0].workspace_id === a ? cb : ca;
    await waitFor(async () => (await deadLetterCodes(h.ns, loser)).length > 0, 5_000, 'the loser’s dead letter').catch(() => undefined);
    // The two blockers and the winner applied, the loser refused.
    expect({ applied: (await submitsApplied()) - appliedBefore, loserDeadLetters: await deadLetterCodes(h.ns, loser) }).toEqual({ applied: 3, loserDeadLetters: ['FORBIDDEN'] });
  }, 30_000);
});
