/**
 * `submit`: queue jobs. A command carries one job or a batch of up to 1,000 (`jobs`), each
 * with its id (and its spec, unless the job is stored: the API sends ids only). A job the API already stored (PENDING) moves to QUEUED; a job the database has
 * never seen is created QUEUED, after the same validation as the API (the command schema) and a
 * token check (once per command: its jobs share a workspace); a repeat of either is a no-op.
 * A command is applied when any of its jobs was queued or created by it, refused when its
 * token is or when a job's idempotency key names a different job ({@link refuseConflicts}), and
 * a no-op otherwise.
 *
 * A pass goes one of two ways. The usual submit over NATS carries every job with its spec, and
 * its pass creates them with one statement that refuses the whole pass when an id names a job
 * of another workspace ({@link createCarried}); any other pass — ids without specs (the API's),
 * more jobs than one statement takes, or that refusal — reads the named jobs first and decides
 * per command ({@link handleByReading}). Both decide the same; the first spares a round trip.
 *
 * One statement's worth of jobs, created or queued (the API's stored ones), is written in a
 * transaction whose commit also dispatches them (`Dispatcher.transaction`); more than that, a
 * flood's, commits on its own and wakes a dispatch round.
 */
import { isGantryError, runAtTooFar, submittedJobs } from '@gantry/contracts';
import { applyWrites, insertJobs, insertJobsUnlessForeign, type InsertJobsResult, isSameJob, type NewJob, ONE_STATEMENT_MAX, storedJobSpecs, type WriteResult } from '@gantry/store';
import { queueSubmitted } from '../jobs/writes.js';
import { applied, type CommandContext, type Incoming, type JobRow, noop, type Outcome, readJobs, refuse, stateOf } from './context.js';

/** A creation that belongs to command `index`. */
interface Creation {
  readonly index: number;
  readonly job: NewJob;
}

type Submitted = ReturnType<typeof submittedJobs>;

export async function handleSubmits(ctx: CommandContext, batch: readonly Incoming<'submit'>[]): Promise<Outcome[]> {
  const perCommand = batch.map((i) => submittedJobs(i.command));
  // A command carrying a job delayed beyond the limit is refused whole, as the API refuses it.
  const refused = perCommand.map((jobs): Outcome | undefined => {
    const tooFar = jobs.map((j) => (j.job === undefined ? undefined : runAtTooFar(j.job))).find((m) => m !== undefined);
    return tooFar === undefined ? undefined : refuse('LIMIT_EXCEEDED', tooFar);
  });
  if (refused.every((r) => r === undefined)) return handleValid(ctx, batch, perCommand);
  const keep = (_: unknown, k: number) => refused[k] === undefined;
  const rest = batch.filter(keep);
  const handled = rest.length === 0 ? [] : await handleValid(ctx, rest, perCommand.filter(keep));
  let next = 0;
  return batch.map((_, k) => refused[k] ?? handled[next++]!);
}

async function handleValid(ctx: CommandContext, batch: readonly Incoming<'submit'>[], perCommand: readonly Submitted[]): Promise<Outcome[]> {
  return (await createCarried(ctx, batch, perCommand)) ?? (await handleByReading(ctx, batch, perCommand));
}

/** A job the command creates; `actor` is the token that authorised it (`authorize.ts`). */
function newJob(command: Incoming<'submit'>['command'], { jobId, job: spec }: Submitted[number], actor: string): NewJob {
  return { id: jobId, workspaceId: command.workspaceId, spec: spec!, status: 'QUEUED', actor };
}

/**
 * A pass whose commands carry every job's spec, at most {@link ONE_STATEMENT_MAX} jobs, with
 * valid tokens: their jobs are created by one statement that inserts nothing if one of their
 * ids names another workspace's job — undefined then (as for a refused token), and the pass goes
 * the reading way, which decides each command alone. A job that exists under its own id (the API
 * stored it, or an earlier delivery created it) is then read and queued if PENDING, as the
 * reading way would.
 */
async function createCarried(ctx: CommandContext, batch: readonly Incoming<'submit'>[], perCommand: readonly Submitted[]): Promise<Outcome[] | undefined> {
  const total = perCommand.reduce((n, jobs) => n + jobs.length, 0);
  if (total === 0 || total > ONE_STATEMENT_MAX || perCommand.some((jobs) => jobs.some((j) => j.job === undefined))) return undefined;
  // A refused token decides nothing yet: the reading way queues a stored job without one.
  const actors = await Promise.all(
    batch.map((incoming) => ctx.authorizer.authorize(incoming.credential, incoming.command.workspaceId).catch((err: unknown) => {
      if (!isGantryError(err)) throw err;
      return undefined;
    })),
  );
  if (actors.includes(undefined)) return undefined;
  const outcomes: Outcome[] = batch.map(() => noop);
  const live = roundRobin(batch.flatMap((incoming, index) => perCommand[index]!.map((j) => ({ index, job: newJob(incoming.command, j, actors[index]!) }))));
  const result = await insertDispatched(ctx, live.map((c) => c.job));
  if (result === undefined) return undefined;
  markCreated(live, result.created, outcomes);
  await refuseConflicts(ctx, live, result.existing, outcomes);
  const storedIds = [...result.existing].filter(([requested, existing]) => requested === existing).map(([id]) => id);
  if (storedIds.length > 0) {
    const rows = await readJobs(ctx, storedIds);
    const stored: Stored[] = [];
    for (const c of live) {
      const job = rows.get(c.job.id);
      // Another workspace's job, created by a concurrent pass after this one's check: a no-op (see MAX_PASSES).
      if (!job || job.workspace_id !== c.job.workspaceId || job.status !== 'PENDING') continue;
      stored.push({ index: c.index, job, actor: actors[c.index]! });
    }
    await queueStored(ctx, stored, outcomes);
  }
  return outcomes;
}

/**
 * `insertJobsUnlessForeign`, in a transaction whose commit dispatches what it created
 * (`Dispatcher.transaction`: one statement's worth of jobs is short enough to hold the dispatch
 * rounds back while it runs).
 */
function insertDispatched(ctx: CommandContext, jobs: readonly NewJob[]): Promise<InsertJobsResult | undefined> {
  return ctx.transaction(async (tx) => {
    const r = await insertJobsUnlessForeign(tx.client, jobs);
    if (r !== undefined && r.created.length > 0) tx.queued(() => ctx.fanOut(r.created));
    return r;
  });
}

/** A stored PENDING job to queue for the command at `index`. */
interface Stored {
  readonly index: number;
  readonly job: JobRow;
  readonly actor: string;
}

/**
 * Queues stored PENDING jobs (the API stores a request's jobs, then announces their ids), each
 * command applied when one of its jobs was queued by it. One statement's worth goes in a
 * transaction whose commit dispatches them (`Dispatcher.transaction`); more go through the
 * group writer, and a round is woken.
 */
async function queueStored(ctx: CommandContext, stored: readonly Stored[], outcomes: Outcome[]): Promise<void> {
  if (stored.length === 0) return;
  const writes = stored.map((s) => queueSubmitted(stateOf(s.job), s.actor));
  let results: readonly WriteResult[];
  if (stored.length <= ONE_STATEMENT_MAX) {
    results = await ctx.transaction(async (tx) => {
      const r = await applyWrites(tx.client, writes);
      const queued = r.filter((w) => w.applied);
      if (queued.length > 0) tx.queued(() => ctx.fanOut(queued));
      return r;
    });
  } else {
    results = await Promise.all(writes.map((w) => ctx.writer.write(w)));
    if (results.some((r) => r.applied)) ctx.wakeDispatcher();
  }
  results.forEach((r, i) => {
    const { index } = stored[i]!;
    if (r.applied && outcomes[index]!.kind === 'done') outcomes[index] = applied;
  });
}

/**
 * Marks applied the command of each creation whose job is among `created`. Two commands of one
 * pass may name the same new id: the first (in `creations`' order, the insert's) creates it; the
 * other is refused FORBIDDEN if it is of another workspace, else it is a repeat, a no-op, as
 * either would be in a later pass.
 */
function markCreated(creations: readonly Creation[], created: readonly { readonly id: string; readonly workspaceId: string }[], outcomes: Outcome[]): void {
  const workspaceOf = new Map(created.map((c) => [c.id, c.workspaceId]));
  const credited = new Set<string>();
  for (const c of creations) {
    const workspace = workspaceOf.get(c.job.id);
    if (workspace === undefined) continue;
    if (workspace !== c.job.workspaceId) outcomes[c.index] = refuse('FORBIDDEN', `job ${c.job.id} belongs to another workspace`);
    else if (!credited.has(c.job.id)) {
      credited.add(c.job.id);
      if (outcomes[c.index]!.kind !== 'refuse') outcomes[c.index] = applied;
    }
  }
}

/**
 * Decides the creations that the insert answered with another job, found by their idempotency
 * key: the same job (another id for the same submission) is a no-op, as a repeat is; a different
 * one refuses its command IDEMPOTENCY_CONFLICT, as the API answers 409 — the command is
 * dead-lettered with the reason, and its other jobs stand.
 */
async function refuseConflicts(ctx: CommandContext, creations: readonly Creation[], existing: ReadonlyMap<string, string>, outcomes: Outcome[]): Promise<void> {
  const answered = creations.filter((c) => (existing.get(c.job.id) ?? c.job.id) !== c.job.id);
  if (answered.length === 0) return;
  const originals = await storedJobSpecs(ctx.pool, [...new Set(answered.map((c) => existing.get(c.job.id)!))]);
  for (const c of answered) {
    const match = existing.get(c.job.id)!;
    const original = originals.get(match);
    if (original !== undefined && original.workspaceId === c.job.workspaceId && isSameJob(original, c.job.spec)) continue;
    outcomes[c.index] = refuse('IDEMPOTENCY_CONFLICT', `job ${c.job.id}: idempotency key ${JSON.stringify(c.job.spec.idempotencyKey)} was used for a different job (${match})`);
  }
}

/** Any pass: the named jobs are read first, then each command is decided on what they are. */
async function handleByReading(ctx: CommandContext, batch: readonly Incoming<'submit'>[], perCommand: readonly Submitted[]): Promise<Outcome[]> {
  const jobs = await readJobs(ctx, perCommand.flatMap((list) => list.map((j) => j.jobId)));
  const outcomes: Outcome[] = batch.map(() => noop);
  const stored: Stored[] = [];
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
      const fresh: Submitted[number][] = [];
      for (const { jobId, job: spec } of mine) {
        const job = jobs.get(jobId);
        if (!job) {
          fresh.push({ jobId, job: spec });
        } else if (job.status === 'PENDING') {
          // Queued even if the command's new jobs are refused below: stored jobs need no token.
          stored.push({ index, job, actor: command.actor ?? 'scheduler' });
        }
      }
      if (fresh.length === 0) return;
      let actor: string;
      try {
        actor = await ctx.authorizer.authorize(incoming.credential, command.workspaceId);
      } catch (err) {
        if (!isGantryError(err)) throw err;
        outcomes[index] = refuse(err.code, err.message);
        return;
      }
      for (const submitted of fresh) creations.push({ index, job: newJob(command, submitted, actor) });
    }),
  );
  await queueStored(ctx, stored, outcomes);
  if (creations.length > 0) await create(ctx, creations, outcomes);
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
 * dispatcher is woken after each (a chunk takes too long to hold the rounds back while it runs,
 * as a creation dispatched by its own commit does). A command whose jobs span chunks is acked
 * after the last: if the scheduler dies in between, the redelivered command creates only what is
 * missing.
 */
async function create(ctx: CommandContext, creations: readonly Creation[], outcomes: Outcome[]): Promise<void> {
  const live = roundRobin(creations.filter((c) => outcomes[c.index]!.kind === 'done'));
  for (let start = 0; start < live.length; start += CREATE_CHUNK) {
    const chunk = live.slice(start, start + CREATE_CHUNK);
    const { created, existing } = await insertJobs(ctx.pool, chunk.map((c) => c.job));
    ctx.fanOut(created);
    markCreated(chunk, created, outcomes);
    await refuseConflicts(ctx, chunk, existing, outcomes);
    if (created.length > 0) ctx.wakeDispatcher();
  }
}
