/**
 * Accepting jobs (protocol move 1): validated specs become PENDING jobs with their steps and
 * `job.created` events through the store's set-based `insertJobs` (three statements for any
 * number of jobs), and — after the commit — their events go to the events stream and their
 * submit commands to the scheduler, both in the background (see `announcer.ts`).
 *
 * Idempotency: a spec whose key already names a job of the workspace creates nothing and is
 * answered by that job when it describes the same job; a different job under a used key is an
 * IDEMPOTENCY_CONFLICT. Concurrent identical requests meet on the unique index: one inserts,
 * the others find its row once it commits.
 *
 * The scheduler learns of created jobs from one submit command per request and workspace that
 * carries their ids (the rows hold the rest) and their highest priority, so that an urgent
 * request can be queued before the workspace's earlier floods. A job is at most `Limits.maxCommandBytes`
 * serialised — the largest a submit command over NATS can carry, so that both interfaces accept
 * the same jobs; a larger one is refused with LIMIT_EXCEEDED before anything is written.
 */
import { GantryError, Limits, runAtTooFar, type JobSpec, type JobStatus } from '@gantry/contracts';
import type { OutgoingMessage } from '@gantry/runtime';
import { insertJobs, isSameJob, storedJobSpecs, uuidv7, withTransaction, type CreatedJob, type NewJob, type PoolClient } from '@gantry/store';
import { submitCommand, submitMessage } from '../commands.js';
import type { ApiDeps } from '../deps.js';
import type { JobView } from '../schemas.js';
import { jobViewsByIds } from './read.js';
import { acceptedJobView } from './views.js';

/** Who submits, and the request that carries the jobs. */
export interface Submitter {
  readonly workspaceId: string;
  /** Recorded on events and commands: `api:<tokenId>`. */
  readonly actor: string;
  readonly requestId: string;
}

/** A validated job with its id, ready to store. */
export interface PreparedJob extends NewJob {
  readonly status: 'PENDING';
  readonly requestId: string;
  /** Where the spec sits in its request (`''` or `jobs.<i>`), for error issues. */
  readonly path: string;
}

/** What became of one job. */
export type Stored =
  | { readonly kind: 'created'; readonly created: CreatedJob }
  | { readonly kind: 'existing'; readonly view: JobView }
  | { readonly kind: 'conflict'; readonly error: GantryError };

/** What a submit answers for one job. */
export interface Accepted {
  readonly id: string;
  readonly status: JobStatus;
  /** False when an existing job with the same idempotency key answers. */
  readonly created: boolean;
  /** The job as it is now. */
  readonly view: JobView;
}

/** SQLSTATE of a transaction PostgreSQL aborted to break a deadlock. */
const DEADLOCK_DETECTED = '40P01';

function joinPath(base: string, field: string): string {
  return base === '' ? field : `${base}.${field}`;
}

/** Gives each spec an id; LIMIT_EXCEEDED for a job larger than a submit command can carry. */
export function prepareJobs(who: Submitter, specs: readonly JobSpec[], pathOf: (i: number) => string): PreparedJob[] {
  return specs.map((spec, i) => {
    const bytes = Buffer.byteLength(JSON.stringify(spec));
    if (bytes > Limits.maxCommandBytes) {
      const message = `the job is ${bytes} bytes serialised; the limit is ${Limits.maxCommandBytes} bytes (maxCommandBytes, the most a submit command carries)`;
      throw new GantryError('LIMIT_EXCEEDED', message, { issues: [{ path: pathOf(i), message }] });
    }
    const tooFar = runAtTooFar(spec);
    if (tooFar !== undefined) throw new GantryError('LIMIT_EXCEEDED', tooFar, { issues: [{ path: `${pathOf(i)}${pathOf(i) === '' ? '' : '.'}runAt`, message: tooFar }] });
    return { id: uuidv7(), workspaceId: who.workspaceId, spec, status: 'PENDING', actor: who.actor, requestId: who.requestId, path: pathOf(i) };
  });
}

/** Orders jobs by workspace and idempotency key, so concurrent inserts take key locks in one order. */
function byKey(a: PreparedJob, b: PreparedJob): number {
  const ka = `${a.workspaceId}\u0000${a.spec.idempotencyKey ?? ''}`;
  const kb = `${b.workspaceId}\u0000${b.spec.idempotencyKey ?? ''}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/**
 * Inserts `jobs` in the caller's transaction and tells what became of each, in order. Jobs
 * with keys are inserted in key order, so two transactions never wait on each other's keys in
 * opposite orders (a deadlock).
 */
export async function storeJobs(client: PoolClient, jobs: readonly PreparedJob[]): Promise<Stored[]> {
  const keyed = jobs.some((j) => j.spec.idempotencyKey !== undefined);
  const result = await insertJobs(client, keyed ? [...jobs].sort(byKey) : jobs);
  const created = new Map(result.created.map((c) => [c.id, c]));
  const matches = [...new Set(result.existing.values())];
  // Compared as submitted (`storedJobSpecs`: a job that ran since has another run_at), answered as it is now.
  const [submitted, existing] = await Promise.all([storedJobSpecs(client, matches), jobViewsByIds(client, matches)]);
  return jobs.map((job): Stored => {
    const made = created.get(job.id);
    if (made) return { kind: 'created', created: made };
    const match = result.existing.get(job.id);
    const original = match === undefined ? undefined : submitted.get(match);
    const view = match === undefined ? undefined : existing.get(match);
    if (original && view && original.workspaceId === job.workspaceId && isSameJob(original, job.spec)) {
      return { kind: 'existing', view };
    }
    const message = `idempotency key ${JSON.stringify(job.spec.idempotencyKey)} was used for a different job (${match})`;
    const path = joinPath(job.path, 'idempotencyKey');
    return { kind: 'conflict', error: new GantryError('IDEMPOTENCY_CONFLICT', message, { issues: [{ path, message }] }) };
  });
}

/** The answer for a stored job. */
export function answerOf(job: PreparedJob, stored: Exclude<Stored, { kind: 'conflict' }>): Accepted {
  if (stored.kind === 'existing') return { id: stored.view.id, status: stored.view.status, created: false, view: stored.view };
  const view = acceptedJobView({ ...job, stepIds: stored.created.stepIds, createdAt: stored.created.events[0]!.at });
  return { id: job.id, status: 'PENDING', created: true, view };
}

/**
 * After the commit: count the created jobs, fan out their events, and queue one submit command
 * per request, workspace and token (its ids in chunks of `Limits.maxBatchJobs`): two callers
 * that send the same `X-Request-Id` in one flush each get a command naming them as its actor.
 */
export function announceCreated(deps: ApiDeps, jobs: readonly PreparedJob[], stored: readonly Stored[]): void {
  const created: CreatedJob[] = [];
  // Each with its jobs' highest priority: the scheduler may take an urgent submit first (overtaking.ts).
  const groups = new Map<string, { job: PreparedJob; ids: string[]; priority: number }>();
  // Counted per priority, not per job: a counter update costs a labels lookup.
  const counts = new Map<number, number>();
  for (let i = 0; i < jobs.length; i++) {
    const s = stored[i]!;
    if (s.kind !== 'created') continue;
    const job = jobs[i]!;
    created.push(s.created);
    const key = `${job.requestId}\u0000${job.workspaceId}\u0000${job.actor}`;
    const group = groups.get(key);
    if (group) {
      group.ids.push(job.id);
      group.priority = Math.max(group.priority, job.spec.priority);
    } else groups.set(key, { job, ids: [job.id], priority: job.spec.priority });
    counts.set(job.spec.priority, (counts.get(job.spec.priority) ?? 0) + 1);
  }
  if (created.length === 0) return;
  for (const [priority, n] of counts) deps.apiMetrics.countSubmitted(priority, n);
  const issuedAt = new Date().toISOString();
  const messages: OutgoingMessage[] = [];
  for (const { job, ids, priority } of groups.values()) {
    for (let start = 0; start < ids.length; start += Limits.maxBatchJobs) {
      const command = submitCommand(job.workspaceId, ids.slice(start, start + Limits.maxBatchJobs), job.actor, issuedAt, priority);
      messages.push(submitMessage(deps, command, job.requestId));
    }
  }
  deps.fanOut(created);
  void deps.announcer.publishAll(messages).then((results) => {
    const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed.length > 0) {
      deps.logger.warn({ failed: failed.length, err: failed[0]!.reason }, 'submit commands not published: left to the reconciler');
    }
  });
}

/** What a batch answers for one job: no view, just what became of it. */
export interface BatchEntry {
  readonly id: string;
  readonly status: JobStatus;
  /** False when an existing job with the same idempotency key answers. */
  readonly created: boolean;
}

function entryOf(job: PreparedJob, stored: Exclude<Stored, { kind: 'conflict' }>): BatchEntry {
  if (stored.kind === 'existing') return { id: stored.view.id, status: stored.view.status, created: false };
  return { id: job.id, status: 'PENDING', created: true };
}

/**
 * Accepts a batch all or nothing: one transaction; any idempotency conflict rolls it back.
 * Single jobs go through the group-committing `SubmitBatcher` instead.
 */
export async function acceptBatch(deps: ApiDeps, jobs: readonly PreparedJob[]): Promise<BatchEntry[]> {
  const attempt = () =>
    withTransaction(deps.pool, async (client) => {
      const outcome = await storeJobs(client, jobs);
      const conflict = outcome.find((s) => s.kind === 'conflict');
      if (conflict) throw conflict.error;
      return outcome as Exclude<Stored, { kind: 'conflict' }>[];
    });
  let stored: Exclude<Stored, { kind: 'conflict' }>[] | undefined;
  for (let tries = 1; stored === undefined; tries++) {
    try {
      stored = await attempt();
    } catch (err) {
      // Concurrent batches with the same keys in another order: PostgreSQL aborted this one.
      if ((err as { code?: unknown }).code !== DEADLOCK_DETECTED || tries >= 3) throw err;
    }
  }
  announceCreated(deps, jobs, stored);
  return jobs.map((job, i) => entryOf(job, stored[i]!));
}
