/**
 * Which of a workspace's queued commands may go before the ones that arrived earlier.
 *
 * A workspace's commands are handled in their order: a cancel must not overtake the submit of
 * its job, a retry the failure it retries. Two submits that name different jobs (and different
 * idempotency keys) do not depend on each other, though, and holding a high-priority submit
 * behind a flood of low-priority ones from the same workspace is a priority inversion before
 * the queue: with five 1,000-job low commands ahead of it (a pass of ≈ 100 ms each), a high job
 * was created half a second late (docs/performance.md, "The finding of the fourth session").
 *
 * So within each run of consecutive submits whose priority is known before the database is
 * read — each job carries its spec, or the command names stored jobs with a `priority` hint (the
 * API sends one: its jobs' highest) — the submits are ordered by the highest priority among
 * their jobs, earlier first among equals, when no two of them name the same job id or
 * idempotency key; if two do, the run keeps its arrival order. Anything else (a cancel, retry or
 * approve, stored ids without a hint, a command the schema check will refuse) stays where it
 * is, and nothing moves past it. The hint orders a workspace's own commands, nothing more.
 *
 * A workspace that sends higher submits faster than the consumer's passes take them holds its
 * own lower ones back until it stops, as strict priority would in dispatch; aging lifts a job
 * only once it is queued. Other workspaces are not affected: passes take turns across them.
 */
import { type CommandKind, Priority, type RawCommand } from '@gantry/contracts';

/** What lets a submit overtake: its jobs' highest priority, their ids and idempotency keys. */
export interface Rank {
  readonly priority: number;
  readonly ids: readonly string[];
  readonly keys: readonly string[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The rank of a submit whose jobs' priorities are all known (their specs, or the command's hint
 * for stored ones); undefined for any other command, and for one whose shape the schema check
 * will refuse (read only, not yet validated).
 */
export function rankOf(raw: RawCommand<CommandKind>): Rank | undefined {
  if (raw.kind !== 'submit') return undefined;
  const { value } = raw;
  const jobs = Array.isArray(value.jobs) ? value.jobs : [{ jobId: value.jobId ?? value.id, job: value.job }];
  // Stored jobs named without their spec (the API's) rank by the command's priority hint.
  const hint = typeof value.priority === 'number' ? value.priority : undefined;
  let priority: number = Priority.min;
  const ids: string[] = [];
  const keys: string[] = [];
  for (const entry of jobs as unknown[]) {
    if (!isObject(entry) || typeof entry.jobId !== 'string') return undefined;
    let p: unknown;
    if (isObject(entry.job)) {
      p = entry.job.priority ?? Priority.default;
      if (typeof entry.job.idempotencyKey === 'string') keys.push(entry.job.idempotencyKey);
    } else if (entry.job === undefined) p = hint;
    if (typeof p !== 'number') return undefined;
    priority = Math.max(priority, p);
    ids.push(entry.jobId);
  }
  return jobs.length === 0 ? undefined : { priority, ids, keys };
}

/** `items` (one workspace's, in arrival order) in the order they may be handled; see the module doc. */
export function inRankOrder<T extends { readonly rank?: Rank | undefined }>(items: readonly T[]): T[] {
  const out: T[] = [];
  let run: T[] = [];
  const flush = () => {
    // A run already in priority order stays as it is (the sort is stable), and then whether its
    // submits share a job does not matter: a flood of equal priorities is not checked job by job.
    if (run.length > 1 && !inPriorityOrder(run) && disjoint(run)) run.sort((a, b) => b.rank!.priority - a.rank!.priority);
    out.push(...run);
    run = [];
  };
  for (const item of items) {
    if (item.rank === undefined) {
      flush();
      out.push(item);
    } else run.push(item);
  }
  flush();
  return out;
}

/** True when no submit of `run` has a higher priority than one before it. */
function inPriorityOrder(run: readonly { readonly rank?: Rank | undefined }[]): boolean {
  for (let i = 1; i < run.length; i++) if (run[i]!.rank!.priority > run[i - 1]!.rank!.priority) return false;
  return true;
}

/** True when no two of `run` name the same job id or idempotency key. */
function disjoint(run: readonly { readonly rank?: Rank | undefined }[]): boolean {
  const ids = new Set<string>();
  const keys = new Set<string>();
  for (const { rank } of run) {
    for (const id of rank!.ids) {
      if (ids.has(id)) return false;
      ids.add(id);
    }
    for (const key of rank!.keys) {
      if (keys.has(key)) return false;
      keys.add(key);
    }
  }
  return true;
}
