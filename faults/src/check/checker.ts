/**
 * The one checker every fault scenario ends with: it reads the histories of the accepted jobs
 * (`runner_jobs` and `job_events`) and lists every broken promise.
 *
 * Per accepted job:
 * - it exists, is in a terminal status, and has exactly one terminal event, the last state
 *   change, of the same kind as its status (nothing lost, nothing finished twice);
 * - its sequences run 1, 2, 3, … with no gap, starting with `job.created`;
 * - every `job.queued` opens a new attempt, one more than the last (`submitted` for the first,
 *   a reason such as `worker_lost` for every re-run), and every attempt starts at most once;
 * - every event after it belongs to the attempt then current — a write of an older attempt
 *   (a frozen or lost worker reporting late) would show here as a stale event;
 * - no step of an attempt completes (or fails) twice.
 *
 * The analysis is a pure function of the rows, so it is unit-tested on broken histories too.
 */
import { QueueReason, TERMINAL_EVENT_TYPES } from '@gantry/contracts';

/** A row of `job_events`, as the checker reads it. */
export interface EventRow {
  readonly jobId: string;
  readonly sequence: number;
  readonly type: string;
  readonly attempt: number;
  readonly stepId: string | null;
  readonly actor: string;
  readonly payload: Record<string, unknown>;
}

/** A row of `runner_jobs`, as the checker reads it. */
export interface JobRow {
  readonly id: string;
  readonly status: string;
  readonly attempt: number;
}

/** What the checker found. */
export interface CheckResult {
  /** Accepted jobs checked. */
  readonly jobs: number;
  /** Jobs by final status. */
  readonly statuses: Readonly<Record<string, number>>;
  /** Attempts queued after the first (re-runs), by reason. */
  readonly reruns: Readonly<Record<string, number>>;
  /** Attempts that started (claimed by a worker) beyond one per job. */
  readonly restartedAttempts: number;
  /** Every broken promise, one line each, naming the job. */
  readonly violations: readonly string[];
}

const TERMINAL = new Set<string>(TERMINAL_EVENT_TYPES);
const TERMINAL_STATUS: Readonly<Record<string, string>> = {
  'job.completed': 'COMPLETED',
  'job.failed': 'FAILED',
  'job.cancelled': 'CANCELLED',
};
const RERUN_REASONS = new Set<string>(QueueReason.options.filter((r) => r !== 'submitted'));

function checkJob(id: string, job: JobRow | undefined, events: readonly EventRow[], out: string[], reruns: Map<string, number>): number {
  const fail = (what: string) => out.push(`job ${id}: ${what}`);
  if (!job) {
    fail('accepted but has no row (lost)');
    return 0;
  }
  const terminals = events.filter((e) => TERMINAL.has(e.type));
  if (terminals.length === 0) fail(`has no terminal event (status ${job.status})`);
  if (terminals.length > 1) fail(`has ${terminals.length} terminal events: ${terminals.map((e) => `${e.type}@${e.sequence}`).join(', ')}`);
  const last = terminals.at(-1);
  if (last && TERMINAL_STATUS[last.type] !== job.status) fail(`ends with ${last.type} but its status is ${job.status}`);
  events.forEach((e, i) => {
    if (e.sequence !== i + 1) fail(`sequence ${e.sequence} where ${i + 1} was expected`);
  });
  if (events[0]?.type !== 'job.created') fail(`starts with ${events[0]?.type ?? 'nothing'}, not job.created`);

  let current = 0;
  let started = 0;
  const startedAttempts = new Set<number>();
  const settledSteps = new Set<string>();
  let ended = false;
  for (const e of events) {
    if (e.type === 'job.created') continue;
    if (ended) fail(`${e.type}@${e.sequence} (attempt ${e.attempt}) after the terminal event`);
    if (e.type === 'job.queued') {
      const attempt = Number(e.payload.attempt);
      const reason = String(e.payload.reason);
      if (attempt !== current + 1) fail(`job.queued@${e.sequence} opens attempt ${attempt} after attempt ${current}`);
      if (attempt === 1 && reason !== 'submitted') fail(`first attempt queued with reason ${reason}`);
      if (attempt > 1) {
        if (!RERUN_REASONS.has(reason)) fail(`re-run (attempt ${attempt}) queued with reason ${reason}`);
        reruns.set(reason, (reruns.get(reason) ?? 0) + 1);
      }
      current = attempt;
      continue;
    }
    if (e.attempt !== current) fail(`${e.type}@${e.sequence} written by attempt ${e.attempt} while attempt ${current} is current (a stale write)`);
    if (e.type === 'job.started') {
      if (startedAttempts.has(e.attempt)) fail(`attempt ${e.attempt} started twice`);
      startedAttempts.add(e.attempt);
      started += 1;
    }
    if ((e.type === 'step.completed' || e.type === 'step.failed') && e.stepId) {
      const key = `${e.attempt}:${e.stepId}`;
      if (settledSteps.has(key)) fail(`step ${e.stepId} settled twice in attempt ${e.attempt} (${e.type}@${e.sequence})`);
      settledSteps.add(key);
    }
    if (TERMINAL.has(e.type)) ended = true;
  }
  return Math.max(0, started - 1);
}

/** Checks the histories of `accepted` jobs; `jobs` and `events` are their rows (events in any order). */
export function checkHistories(accepted: readonly string[], jobs: readonly JobRow[], events: readonly EventRow[]): CheckResult {
  const byId = new Map(jobs.map((j) => [j.id, j]));
  const eventsOf = new Map<string, EventRow[]>();
  for (const e of events) {
    const list = eventsOf.get(e.jobId) ?? [];
    list.push(e);
    eventsOf.set(e.jobId, list);
  }
  const violations: string[] = [];
  const reruns = new Map<string, number>();
  const statuses: Record<string, number> = {};
  let restartedAttempts = 0;
  for (const id of new Set(accepted)) {
    const job = byId.get(id);
    if (job) statuses[job.status] = (statuses[job.status] ?? 0) + 1;
    const history = (eventsOf.get(id) ?? []).sort((a, b) => a.sequence - b.sequence);
    restartedAttempts += checkJob(id, job, history, violations, reruns);
  }
  return {
    jobs: new Set(accepted).size,
    statuses,
    reruns: Object.fromEntries(reruns),
    restartedAttempts,
    violations,
  };
}
