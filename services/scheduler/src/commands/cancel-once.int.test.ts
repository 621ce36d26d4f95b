/**
 * A running attempt's cancel is requested once (docs/protocol.md, row 11): the same command
 * delivered again, another command, and a command that races another cancel's commit all find
 * the request standing, record nothing more and tell the worker again. The reconciler's own
 * re-sending is held off (`cancelResendMs`), so every signal counted here is the handler's.
 */
import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { CancelSignal, Headers } from '@gantry/contracts';
import { createJobs, createToken, createWorkspace } from '@gantry/testkit';
import { betweenReadAndWrite, eventTypes } from '../testing/commands.js';
import { publishCommand, waitFor } from '../testing/harness.js';
import { useScheduler } from '../testing/use-scheduler.js';

const h = useScheduler({ cancelResendMs: 3_600_000 });
let workspaceId: string;
let token: string;

beforeAll(async () => {
  workspaceId = await createWorkspace(h.pool);
  token = await createToken(h.pool, workspaceId);
});

describe('a running job’s cancel', () => {
  it('records a running job’s cancel once when the same command is delivered again', async () => {
    const [running] = await createJobs(h.pool, workspaceId, 1);
    await h.pool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'w-again', started_at = now() WHERE id = $1`, [running!.id]);
    const signals: CancelSignal[] = [];
    const sub = h.ns.nc.subscribe(h.ns.names.subjects.cancel('w-again'), { callback: (_e, m) => {
      signals.push(CancelSignal.parse(m.json()));
    } });
    const command = { v: 1, kind: 'cancel', id: randomUUID(), workspaceId, jobId: running!.id, reason: 'twice' };
    await publishCommand(h.ns, 'cancel', command, { [Headers.token]: token });
    await waitFor(() => signals.length === 1);
    // The command again, as a redelivery after a pass whose answer was lost brings it: another
    // message id, so that the stream does not drop it as a duplicate publish.
    const again = natsHeaders();
    again.set(Headers.token, token);
    await jetstream(h.ns.nc).publish(h.ns.names.subjects.command('cancel'), JSON.stringify(command), { msgID: `${command.id}:again`, headers: again });
    await waitFor(() => signals.length === 2);
    expect(await eventTypes(h.pool, running!.id)).toEqual(['job.created', 'job.queued', 'job.cancel_requested']);
    // Another command finds the attempt's request standing: its worker is told again, and
    // nothing more is recorded.
    await publishCommand(h.ns, 'cancel', { ...command, id: randomUUID(), reason: 'again' }, { [Headers.token]: token });
    await waitFor(() => signals.length === 3);
    sub.unsubscribe();
    expect(await eventTypes(h.pool, running!.id)).toEqual(['job.created', 'job.queued', 'job.cancel_requested']);
  });

  it('record one request when two cancels of a running job race: the later write finds the first committed', async () => {
    const [running] = await createJobs(h.pool, workspaceId, 1);
    await h.pool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'w-two', started_at = now() WHERE id = $1`, [running!.id]);
    const signals: CancelSignal[] = [];
    const sub = h.ns.nc.subscribe(h.ns.names.subjects.cancel('w-two'), { callback: (_e, m) => void signals.push(CancelSignal.parse(m.json())) });
    // The pass reads the job with no request; another cancel (the API's) commits before its write.
    const other = betweenReadAndWrite(h.pool, running!.id, async (query) => {
      await query(`UPDATE runner_jobs SET cancel_requested_at = now() WHERE id = $1`, [running!.id]);
      await query(
        `INSERT INTO job_events (job_id, sequence, id, workspace_id, type, actor, attempt, payload)
         SELECT id, 3, gen_random_uuid(), workspace_id, 'job.cancel_requested', 'api', attempt, '{"reason":"first"}' FROM runner_jobs WHERE id = $1`,
        [running!.id],
      );
    });
    try {
      await publishCommand(h.ns, 'cancel', { v: 1, kind: 'cancel', id: randomUUID(), workspaceId, jobId: running!.id, reason: 'second' }, { [Headers.token]: token });
      await waitFor(() => signals.length > 0, 10_000, 'the cancel signal');
    } finally {
      other.restore();
      sub.unsubscribe();
    }
    expect(other.made()).toBe(true);
    const { rows } = await h.pool.query(`SELECT payload FROM job_events WHERE job_id = $1 AND type = 'job.cancel_requested'`, [running!.id]);
    expect(rows.map((r) => r.payload)).toEqual([{ reason: 'first' }]);
  });
});
