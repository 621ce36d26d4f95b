/**
 * `submit`: queue jobs. A command carries one job or a batch of up to 1,000 (`jobs`), each
 * with its id (and its spec, unless the job is stored: the API sends ids only). A job the API already stored (PENDING) moves to QUEUED; a job the database has
 * never seen is created QUEUED, after the same validation as the API (the command schema) and a
 * token check (once per command: its jobs share a workspace); a repeat of either is a no-op.
 * A command is applied when any of its jobs was queued or created by it, refused when its
 * token is, and a no-op otherwise.
 */
import { isGantryError, submittedJobs } from '@gantry/contracts';
import { insertJobs, type NewJob } from '@gantry/store';
import { queueSubmitted } from '../jobs/writes.js';
import { applied, type CommandContext, type Incoming, noop, type Outcome, readJobs, refuse, stateOf } from './context.js';

/** A creation that belongs to command `index`. */
interface Creation {
  readonly index: number;
  readonly job: NewJob;
}

export async function handleSubmits(ctx: CommandContext, batch: readonly Incoming<'submit'>[]): Promise<Outcome[]> {
  const perCommand = batch.map((i) => submittedJobs(i.command));
  const jobs = await readJobs(ctx, perCommand.flatMap((list) => list.map((j) => j.jobId)));
  const outcomes: Outcome[] = batch.map(() => noop);
  const writes: Promise<void>[] = [];
  const creations: Creation[] = [];

  await Promise.all(
    batch.map(async (incoming, index) => {
      const { command } = incoming;
      const mine = perCommand[index]!;
      const foreign = mine.map((j) => jobs.get(j.jobId)).find((job) => job !== undefined && job.workspace_id !== command.workspaceId);
      if (foreign) {
        outcomes[index] = refuse('FORBIDDEN', `job ${foreign.id} belongs to another workspace`);
        return;
      }
      const unknown = mine.findIndex((j) => j.job === undefined && !jobs.has(j.jobId));
      if (unknown >= 0) {
        outcomes[index] = refuse('VALIDATION_FAILED', `jobs.${unknown}: job ${mine[unknown]!.jobId} is not stored and the command carries no spec for it`);
        return;
      }
      const fresh: NewJob[] = [];
      for (const { jobId, job: spec } of mine) {
        const job = jobs.get(jobId);
        if (!job) {
          fresh.push({ id: jobId, workspaceId: command.workspaceId, spec: spec!, status: 'QUEUED', actor: command.actor ?? `nats:${command.id}` });
        } else if (job.status === 'PENDING') {
          writes.push(
            ctx.writer.write(queueSubmitted(stateOf(job), command.actor ?? 'scheduler')).then((r) => {
              if (r.applied && outcomes[index]!.kind === 'done') outcomes[index] = applied;
            }),
          );
        }
      }
      if (fresh.length === 0) return;
      try {
        await ctx.authorizer.authorize(incoming.token, command.workspaceId);
      } catch (err) {
        if (!isGantryError(err)) throw err;
        outcomes[index] = refuse(err.code, err.message);
        return;
      }
      for (const job of fresh) creations.push({ index, job });
    }),
  );
  await Promise.all(writes);
  if (creations.length > 0) await create(ctx, creations, outcomes);
  if (outcomes.some((o) => o === applied)) ctx.wakeDispatcher();
  return outcomes;
}

/** Jobs created per transaction: a large backlog lands in steps the dispatcher can start on. */
export const CREATE_CHUNK = 500;

/**
 * Orders creations round-robin across workspaces (each workspace's jobs keep their order): a
 * workspace that sent ten thousand jobs in the same batch as another's hundred does not bury
 * them in its later chunks.
 */
export function roundRobin<T extends { readonly job: { readonly workspaceId: string } }>(items: readonly T[]): T[] {
  const turns = new Map<string, number>();
  const keyed = items.map((item, i) => {
    const turn = turns.get(item.job.workspaceId) ?? 0;
    turns.set(item.job.workspaceId, turn + 1);
    return { item, turn, i };
  });
  return keyed.sort((a, b) => a.turn - b.turn || a.i - b.i).map((k) => k.item);
}

/**
 * Creates jobs of authorised commands (a valid token proves its workspace exists), in chunks of
 * {@link CREATE_CHUNK} committed one after another, round-robin across workspaces; the
 * dispatcher is woken after each. A command whose jobs span chunks is acked after the last: if
 * the scheduler dies in between, the redelivered command creates only what is missing.
 */
async function create(ctx: CommandContext, creations: readonly Creation[], outcomes: Outcome[]): Promise<void> {
  const live = roundRobin(creations.filter((c) => outcomes[c.index]!.kind === 'done'));
  for (let start = 0; start < live.length; start += CREATE_CHUNK) {
    const chunk = live.slice(start, start + CREATE_CHUNK);
    const { created } = await insertJobs(ctx.pool, chunk.map((c) => c.job));
    ctx.fanOut(created);
    const createdIds = new Set(created.map((c) => c.id));
    for (const c of chunk) if (createdIds.has(c.job.id)) outcomes[c.index] = applied;
    if (created.length > 0 && start + CREATE_CHUNK < live.length) ctx.wakeDispatcher();
  }
}
