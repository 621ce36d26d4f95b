/**
 * `submit`: queue a job. A job the API already stored (PENDING) moves to QUEUED; a job the
 * database has never seen is created QUEUED, after the same validation as the API (the command
 * schema) and a token check; a repeat of either is a no-op.
 */
import { isGantryError } from '@gantry/contracts';
import { insertJobs, type NewJob, withTransaction } from '@gantry/store';
import { queueSubmitted } from '../jobs/writes.js';
import { applied, type CommandContext, type Incoming, noop, type Outcome, readJobs, refuse, stateOf } from './context.js';

export async function handleSubmits(ctx: CommandContext, batch: readonly Incoming<'submit'>[]): Promise<Outcome[]> {
  const jobIdOf = (i: Incoming<'submit'>) => i.command.jobId ?? i.command.id;
  const jobs = await readJobs(ctx, batch.map(jobIdOf));
  const outcomes: Outcome[] = new Array(batch.length);
  const writes: Promise<void>[] = [];
  const creations: { index: number; job: NewJob }[] = [];

  await Promise.all(
    batch.map(async (incoming, index) => {
      const { command } = incoming;
      const job = jobs.get(jobIdOf(incoming));
      if (job) {
        if (job.workspace_id !== command.workspaceId) {
          outcomes[index] = refuse('FORBIDDEN', `job ${job.id} belongs to another workspace`);
        } else if (job.status !== 'PENDING') {
          outcomes[index] = noop;
        } else {
          writes.push(
            ctx.writer.write(queueSubmitted(stateOf(job), command.actor ?? 'scheduler')).then((r) => {
              outcomes[index] = r.applied ? applied : noop;
            }),
          );
        }
        return;
      }
      try {
        await ctx.authorizer.authorize(incoming.token, command.workspaceId);
      } catch (err) {
        if (!isGantryError(err)) throw err;
        outcomes[index] = refuse(err.code, err.message);
        return;
      }
      creations.push({
        index,
        job: { id: jobIdOf(incoming), workspaceId: command.workspaceId, spec: command.job, status: 'QUEUED', actor: command.actor ?? `nats:${command.id}` },
      });
    }),
  );
  await Promise.all(writes);
  if (creations.length > 0) await create(ctx, creations, outcomes);
  if (outcomes.some((o) => o === applied)) ctx.wakeDispatcher();
  return outcomes;
}

/** Creates jobs of authorised commands (a valid token proves its workspace exists). */
async function create(ctx: CommandContext, creations: { index: number; job: NewJob }[], outcomes: Outcome[]): Promise<void> {
  const { created } = await withTransaction(ctx.pool, (client) => insertJobs(client, creations.map((c) => c.job)));
  ctx.fanOut(created);
  const createdIds = new Set(created.map((c) => c.id));
  for (const c of creations) outcomes[c.index] = createdIds.has(c.job.id) ? applied : noop;
}
