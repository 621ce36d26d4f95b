/**
 * `cancel`, `retry` and `approve`: commands that act on an existing job of the token's
 * workspace. A job of another workspace is "not found", as over HTTP. A command that finds the
 * job in a status it does not apply to is a no-op, not an error: the job moved on. Each needs
 * the scope its HTTP route needs, and its events name the token as their actor
 * (`authorize.ts`).
 */
import { type CancelSignal, isGantryError, type JobError } from '@gantry/contracts';
import type { JobWrite, TokenScope, WriteResult } from '@gantry/store';
import { cancelIdle, once, requestCancel, requeue } from '../jobs/writes.js';
import { applied, type CommandContext, type Incoming, type JobRow, noop, type Outcome, readJobs, refuse, stateOf } from './context.js';

type JobCommand = 'cancel' | 'retry' | 'approve';

/** The scope each command needs, as its HTTP route does. */
const SCOPE: Record<JobCommand, TokenScope> = { cancel: 'jobs:write', retry: 'jobs:write', approve: 'jobs:admin' };

/** A command's job, and its actor: the token that authorised it. */
interface Resolved {
  readonly job: JobRow;
  readonly actor: string;
}

/** Authorises each command and finds its job; returns the job or the refusal per command. */
async function resolveJobs<K extends JobCommand>(
  ctx: CommandContext,
  batch: readonly Incoming<K>[],
): Promise<(Resolved | Outcome)[]> {
  const jobs = await readJobs(ctx, batch.map((i) => i.command.jobId));
  return Promise.all(
    batch.map(async ({ command, credential }): Promise<Resolved | Outcome> => {
      let actor: string;
      try {
        actor = await ctx.authorizer.authorize(credential, command.workspaceId, SCOPE[command.kind]);
      } catch (err) {
        if (!isGantryError(err)) throw err;
        return refuse(err.code, err.message);
      }
      const job = jobs.get(command.jobId);
      if (!job || job.workspace_id !== command.workspaceId) return refuse('NOT_FOUND', `job ${command.jobId} not found`);
      return { job, actor };
    }),
  );
}

function isOutcome(x: Resolved | Outcome): x is Outcome {
  return 'kind' in x;
}

/**
 * Decisions per command at most: a job that moved between the read and the write (a worker
 * claimed it, a retry queued it again) is decided on again from what it is now, this many times.
 */
const MAX_DECISIONS = 3;

/** What {@link applyEach} does after a command's decision. */
interface Aftermath<K extends JobCommand> {
  /**
   * After its write committed (or was found committed: a replay); answers the command's outcome
   * when the write was not the command's own effect (default `applied`).
   */
  applied?: (incoming: Incoming<K>, job: JobRow, result: WriteResult) => Outcome | void;
  /** When it decided to write nothing, on the job as last read. */
  unchanged?: (incoming: Incoming<K>, job: JobRow) => void;
}

/**
 * Applies one write per command (or none) and maps the results to outcomes. A write refused
 * because its job moved on is decided again on the job as it is now, as the API's cancel does:
 * a cancel must not be lost to a claim that committed between its read and its write. A write
 * refused with its job as it was (a guard beyond status and attempt: a cancel request recorded
 * meanwhile) is decided again too, once the job is read.
 */
async function applyEach<K extends JobCommand>(
  ctx: CommandContext,
  batch: readonly Incoming<K>[],
  decide: (incoming: Incoming<K>, job: JobRow, actor: string) => JobWrite | null,
  after: Aftermath<K> = {},
): Promise<Outcome[]> {
  const resolved = await resolveJobs(ctx, batch);
  return Promise.all(
    resolved.map(async (resolvedOrOutcome, i): Promise<Outcome> => {
      if (isOutcome(resolvedOrOutcome)) return resolvedOrOutcome;
      const incoming = batch[i]!;
      const { actor } = resolvedOrOutcome;
      let { job } = resolvedOrOutcome;
      // Each command's writes commit on their own: one that fails is retried alone, and the
      // others of the batch, committed, are answered (a redelivery of a committed one would
      // apply it again to a job that moved on).
      try {
        for (let decisions = 1; ; decisions++) {
          const write = decide(incoming, job, actor);
          if (!write) {
            after.unchanged?.(incoming, job);
            return noop;
          }
          const result = await ctx.writer.write(write);
          if (result.applied) return after.applied?.(incoming, job, result) ?? applied;
          if (result.status === null || decisions >= MAX_DECISIONS) return noop;
          const now = (await readJobs(ctx, [job.id])).get(job.id);
          if (!now) return noop;
          job = now;
        }
      } catch (error) {
        return { kind: 'retry', error };
      }
    }),
  );
}

export function handleCancels(ctx: CommandContext, batch: readonly Incoming<'cancel'>[]): Promise<Outcome[]> {
  return applyEach(
    ctx,
    batch,
    (incoming, job, actor) => {
      const reason = incoming.command.reason ?? null;
      switch (job.status) {
        case 'PENDING':
        case 'QUEUED':
        case 'WAITING':
          return once(cancelIdle(stateOf(job), job.status, reason, actor, job.waiting_step_id), incoming.command.id);
        case 'RUNNING':
          // The attempt's cancel is requested once; a later one finds the request standing.
          return job.cancel_pending ? null : requestCancel(stateOf(job), reason, actor, incoming.command.id);
        default:
          return null;
      }
    },
    {
      applied: (_incoming, job, result) => {
        // A cancel delivered again is answered with the request it recorded the first time: the
        // signal goes again only to the attempt it was for, not to a later one (a retry since).
        if (job.status === 'RUNNING' && job.worker_id && result.events[0]?.attempt === job.attempt) sendCancelSignal(ctx, job, 'cancelled');
      },
      // A request standing for the running attempt: its worker is told again, as the API does.
      unchanged: (_incoming, job) => {
        if (job.status === 'RUNNING' && job.cancel_pending) sendCancelSignal(ctx, job, 'cancelled');
      },
    },
  );
}

/** Tells the worker holding `job` to abort its attempt (core NATS; re-sent by the reconciler). */
export function sendCancelSignal(ctx: Pick<CommandContext, 'nc' | 'names'>, job: Pick<JobRow, 'id' | 'attempt' | 'worker_id'>, reason: CancelSignal['reason']): void {
  if (!job.worker_id) return;
  const signal: CancelSignal = { v: 1, jobId: job.id, attempt: job.attempt, reason };
  ctx.nc.publish(ctx.names.subjects.cancel(job.worker_id), JSON.stringify(signal));
}

export async function handleRetries(ctx: CommandContext, batch: readonly Incoming<'retry'>[]): Promise<Outcome[]> {
  const steps = await stepIdsOf(ctx, batch.map((i) => i.command.jobId));
  const outcomes = await applyEach(ctx, batch, (incoming, job, actor) =>
    job.status === 'FAILED' || job.status === 'CANCELLED'
      ? once(
          requeue(stateOf(job), job.status, {
            reason: 'manual_retry',
            runAt: null,
            failures: 0,
            error: null,
            resetSteps: steps.get(job.id) ?? [],
            actor,
          }),
          incoming.command.id,
        )
      : null,
  );
  if (outcomes.some((o) => o === applied)) ctx.wakeDispatcher();
  return outcomes;
}

async function stepIdsOf(ctx: CommandContext, jobIds: readonly string[]): Promise<Map<string, string[]>> {
  const { rows } = await ctx.pool.query<{ job_id: string; id: string }>(
    'SELECT job_id, id FROM job_steps WHERE job_id = ANY($1::uuid[]) ORDER BY job_id, ordinal',
    [jobIds],
  );
  const byJob = new Map<string, string[]>();
  for (const r of rows) byJob.set(r.job_id, [...(byJob.get(r.job_id) ?? []), r.id]);
  return byJob;
}

export async function handleApprovals(ctx: CommandContext, batch: readonly Incoming<'approve'>[]): Promise<Outcome[]> {
  const gates = await waitingGates(ctx, batch.map((i) => i.command.stepId));
  const outcomes = await applyEach(ctx, batch, (incoming, job, actor) => {
    const { command } = incoming;
    const gate = gates.get(command.stepId);
    if (job.status !== 'WAITING' || gate !== job.id) return null;
    // A cancel requested while the job ran, which its park reached first, comes before the
    // decision: the job is cancelled, as the reconciler would have cancelled it.
    if (job.cancel_pending) return once(cancelIdle(job, 'WAITING', job.cancel_reason, 'scheduler', command.stepId), command.id);
    const comment = command.comment === undefined ? {} : { comment: command.comment };
    if (command.decision === 'approve') {
      const write = requeue(stateOf(job), 'WAITING', { reason: 'approved', runAt: null, actor });
      return once({
        ...write,
        steps: [{ stepId: command.stepId, status: 'COMPLETED', completedAt: 'now' }],
        events: [
          { type: 'gate.passed', stepId: command.stepId, actor, payload: { kind: 'approval', decidedBy: actor, ...comment } },
          ...write.events,
        ],
      }, command.id);
    }
    const error: JobError = { code: 'STEP_FAILED', message: `approval rejected by ${actor}`, stepId: command.stepId, retryable: false };
    return once({
      jobId: job.id,
      attempt: job.attempt,
      expect: ['WAITING'],
      to: 'FAILED',
      set: { failures: job.failures + 1, error, completedAt: 'now', deadlineAt: null },
      steps: [{ stepId: command.stepId, status: 'FAILED', error, completedAt: 'now' }],
      events: [
        { type: 'gate.failed', stepId: command.stepId, actor, payload: { kind: 'approval', decidedBy: actor, reason: 'rejected', ...comment } },
        { type: 'job.failed', actor, payload: { error, attempts: job.attempt } },
      ],
    }, command.id);
  }, { applied: approvalOutcome });
  if (outcomes.some((o) => o === applied)) ctx.wakeDispatcher();
  return outcomes;
}

/**
 * An approve whose write cancelled its job honoured the standing cancel, not its decision: a
 * no-op for the command's count, as when the job moved on before it. Told by the write's events,
 * which a replay answers with those it stored (its status is the job's now).
 */
function approvalOutcome(_incoming: Incoming<'approve'>, _job: JobRow, result: WriteResult): Outcome {
  return result.events.some((e) => e.type === 'job.cancelled') ? noop : applied;
}

/** Step id → job id, for steps that are approval gates waiting for a decision. */
async function waitingGates(ctx: CommandContext, stepIds: readonly string[]): Promise<Map<string, string>> {
  const { rows } = await ctx.pool.query<{ id: string; job_id: string }>(
    `SELECT id, job_id FROM job_steps WHERE id = ANY($1::uuid[]) AND type = 'GATE' AND status = 'WAITING'`,
    [stepIds],
  );
  return new Map(rows.map((r) => [r.id, r.job_id]));
}
