/**
 * Applies JobWrites with one SQL statement per wave, whatever the number of writes, and the
 * same statement for every wave (a named statement: parsed and planned once per connection):
 *
 * 1. `locked`: the wave's jobs are locked in id order (`FOR NO KEY UPDATE`; the same order in
 *    every process, so two writers never deadlock), each by its primary key — never a scan of
 *    `runner_jobs`, which the planner chose for a wave of a few writes into a table of some
 *    thousands of jobs (it takes any set-returning function for 100 rows); a locking read
 *    returns each row's newest version, so `ok` checks every guard (the attempt the writer
 *    holds, a status it expects, no cancel request where it asks) against the truth, and reads
 *    each job's last event sequence;
 * 2. `upd`: one UPDATE of the jobs whose write moves them or changes a column (a write that only
 *    appends events leaves the job row alone). Each job's resulting status and attempt are
 *    computed in `ok` from the row and the patch, as the UPDATE sets them, not joined back from
 *    its RETURNING: the planner cannot size a CTE, and joined by nested loop that costs
 *    writes × writes comparisons per wave (a million for a wave of 1,000);
 * 3. `steps`: one UPDATE of the step rows of the applied writes (a step of another job fails the
 *    statement);
 * 4. `ev`: one INSERT appends the applied writes' events with the sequences that follow (or,
 *    for a large batch, one COPY right after the statement, in the same transaction).
 *
 * A replayed write (`JobWrite.replay`: its first answer was lost) whose first event is already
 * stored committed the first time: `done` finds that event among its job's (by the primary
 * key's prefix, never a scan of `job_events`, whose size the planner cannot weigh against a
 * set-returning function's; only those after `JobWrite.replayAfter` when the writer says, a
 * range of a few rows however long the job), and the write is
 * answered as applied with the events it stored then (read back after the statement: the
 * replay's own may have been built again since), without passing its guard again or writing
 * anything. Only replays probe the events; other writes never reach that join.
 * `done` reads from the statement's snapshot, taken before its locks: a replay sent while its
 * first try was still committing (the connection lost mid-commit) waits for that try's lock,
 * then finds the guard moved by it and its event not yet visible. So a refused replay is asked
 * once more in a statement of its own, whose snapshot sees what the lock waited for.
 *
 * A write with `load` (a worker's claim) is answered with its job and steps, read by primary key
 * for that write alone, so that a worker's claim is also its load: one round trip, not two.
 *
 * The last sequence is read from the statement's snapshot, which may predate the lock: if
 * another transaction appended to the same job in between, the INSERT collides with the primary
 * key `(job_id, sequence)` and the statement fails as a whole — never a gap, never a duplicate.
 * The group writer retries such a flush ({@link isSequenceConflict}).
 *
 * Each shape of wave has a statement of its own (named for it): only a wave with a replay has
 * `done`, only one that loads builds the job, only one that changes steps has `steps`. The
 * executor initialises every node of a plan on every execution, whether the wave uses it or not,
 * and for a wave of one or two writes that start-up is a large share of the statement's cost: a
 * worker's claim of one job costs PostgreSQL 333–375 µs of CPU without the parts it does not
 * use, against 408–520 µs with them (docs/performance.md, the eleventh session).
 *
 * A wave holds at most one write per job; `applyWrites` splits a batch into waves that run in
 * order, so a later write of a job sees the earlier one's effect. One wave in autocommit is one
 * round trip and its own transaction; inside the caller's transaction the waves commit together.
 * Nothing is written for a refused write. The caller publishes the events after the commit.
 */
import {
  CURRENT_EVENT_VERSION,
  type JobEvent,
  type JobStatus,
} from '@gantry/contracts';
import type { QueryConfig } from 'pg';
import type { PoolClient } from '../db/pool.js';
import { type Statement, statement } from '../db/statement.js';
import { copyEvents } from '../events/copy-events.js';
import { uuidv7 } from '../ids.js';
import { assertWellFormed, type JobPatch, type JobWrite, type LoadedJob, type StepPatch, type WriteResult } from './job-write.js';
import { patchAssignments, type PatchColumn, stampValue } from './patch-sql.js';

/** Anything that runs a query: a pool (autocommit, one transaction per wave) or a client in a transaction. */
export interface Queryable {
  query<R extends object>(query: QueryConfig): Promise<{ rows: R[] }>;
}

const JOB_COLUMNS: Record<keyof JobPatch | 'status', PatchColumn> = {
  status: { column: 'status', type: 'text' },
  attempt: { column: 'attempt', type: 'int' },
  failures: { column: 'failures', type: 'int' },
  progress: { column: 'progress', type: 'int' },
  result: { column: 'result', type: 'jsonb' },
  error: { column: 'error', type: 'jsonb' },
  workerId: { column: 'worker_id', type: 'text' },
  runAt: { column: 'run_at', type: 'timestamptz' },
  dispatchedAt: { column: 'dispatched_at', type: 'timestamptz' },
  deadlineAt: { column: 'deadline_at', type: 'timestamptz', named: { timeout: (r) => `now() + ${r}.timeout_ms * interval '1 millisecond'` } },
  cancelRequestedAt: { column: 'cancel_requested_at', type: 'timestamptz' },
  queuedAt: { column: 'queued_at', type: 'timestamptz' },
  startedAt: { column: 'started_at', type: 'timestamptz' },
  completedAt: { column: 'completed_at', type: 'timestamptz' },
};

const STEP_COLUMNS: Record<Exclude<keyof StepPatch, 'stepId'>, PatchColumn> = {
  status: { column: 'status', type: 'text' },
  attempt: { column: 'attempt', type: 'int' },
  output: { column: 'output', type: 'jsonb' },
  outputTail: { column: 'output_tail', type: 'text' },
  exitCode: { column: 'exit_code', type: 'int' },
  error: { column: 'error', type: 'jsonb' },
  inputTokens: { column: 'input_tokens', type: 'int' },
  outputTokens: { column: 'output_tokens', type: 'int' },
  durationMs: { column: 'duration_ms', type: 'int' },
  startedAt: { column: 'started_at', type: 'timestamptz' },
  completedAt: { column: 'completed_at', type: 'timestamptz' },
};

const TIMESTAMP_KEYS = new Set(['runAt', 'dispatchedAt', 'deadlineAt', 'cancelRequestedAt', 'queuedAt', 'startedAt', 'completedAt']);

/** Converts a patch to SQL column keys, turning stamps into text. */
function toColumns(patch: object, columns: Record<string, PatchColumn>): Record<string, unknown> {
  const into: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(patch)) {
    const column = columns[key];
    if (column === undefined || value === undefined) continue;
    into[column.column] = TIMESTAMP_KEYS.has(key) ? stampValue(value as Date | string | null) : value;
  }
  return into;
}

/** A write as the wave statement reads it (`$1`): its guard and its job's changed columns. */
interface WaveRow {
  i: number;
  job_id: string;
  attempt: number;
  expect: readonly string[];
  p: Record<string, unknown>;
  /** A replay's first event id; null for a write sent the first time. */
  replay: string | null;
  /** A replay's {@link JobWrite.replayAfter}; null: the job's every event. */
  after: number | null;
  /** Answer with the job (`JobWrite.load`). */
  load: boolean;
  /** Refused if the job carries a cancel request (`JobWrite.unlessCancelRequested`). */
  uncancelled: boolean;
}

/** A step's changed columns (`$2`). */
interface StepRow {
  id: string;
  job_id: string;
  p: Record<string, unknown>;
}

/**
 * The job of a write with `load`, as JSON (a {@link LoadedJob}), given SQL for its id and for
 * its status and attempt after the write. The rest is read from the statement's snapshot, which
 * predates the write and may predate the lock; a write that loads changes no column read here,
 * and none of them changes while the job keeps the attempt it was claimed at.
 */
function loadedJob(id: string, status: string, attempt: string): string {
  return `(SELECT json_build_object(
      'id', j.id, 'workspaceId', j.workspace_id, 'type', j.type, 'status', ${status}, 'attempt', ${attempt},
      'failures', j.failures, 'maxAttempts', j.max_attempts, 'backoff', j.backoff, 'timeoutMs', j.timeout_ms,
      'payload', j.payload,
      'steps', COALESCE((SELECT json_agg(json_build_object(
          'id', s.id, 'ordinal', s.ordinal, 'name', s.name, 'phase', s.phase, 'type', s.type, 'status', s.status,
          'spec', s.spec, 'timeoutMs', s.timeout_ms, 'output', s.output) ORDER BY s.ordinal)
        FROM job_steps s WHERE s.job_id = j.id), '[]'::json))
    FROM runner_jobs j WHERE j.id = ${id})`;
}

/** The answer's `job` column: the loaded job for a write whose `flag` asks, in a shape that loads; else null. */
function jobColumn(loads: boolean, flag: string, id: string, status: string, attempt: string): string {
  return loads ? `CASE WHEN ${flag} THEN ${loadedJob(id, status, attempt)} END` : 'NULL::json';
}

/** What a wave holds, which decides the parts of its statement. */
interface WaveShape {
  /** Its events are copied after the statement rather than inserted by it. */
  readonly bulkEvents: boolean;
  /** A write is a replay: the statement probes for its first event (`done`). */
  readonly replays: boolean;
  /** A write loads its job: the statement can answer with it. */
  readonly loads: boolean;
  /** A write changes steps: the statement updates them (`$2`) and checks they are its job's. */
  readonly steps: boolean;
}

/** The wave statement for `shape`, with only the parts the shape needs; parameters `$1`, then steps, then events. */
function waveSql({ bulkEvents, replays, loads, steps }: WaveShape): string {
  const jobSet = [...patchAssignments('r', Object.values(JOB_COLUMNS)), 'version = r.version + 1', 'updated_at = now()'].join(',\n    ');
  const stepSet = patchAssignments('x', Object.values(STEP_COLUMNS)).join(',\n    ');
  return `
WITH w AS (
  SELECT * FROM jsonb_to_recordset($1::jsonb) AS w(i int, job_id uuid, attempt int, expect text[], p jsonb, replay uuid, after int, load boolean, uncancelled boolean)
),
locked AS (
  SELECT l.id, l.workspace_id, l.status, l.attempt, l.cancel_requested_at
  FROM (SELECT job_id FROM w ORDER BY job_id) v
  CROSS JOIN LATERAL (SELECT id, workspace_id, status, attempt, cancel_requested_at FROM runner_jobs WHERE id = v.job_id FOR NO KEY UPDATE) l
),
${replays ? `done AS (
  SELECT v.i, d.base, d.tx_ms
  FROM w v
  CROSS JOIN LATERAL (
    SELECT e.sequence - 1 AS base, (extract(epoch FROM e.created_at) * 1000)::float8 AS tx_ms
    FROM job_events e WHERE e.job_id = v.job_id AND e.sequence > COALESCE(v.after, 0) AND e.id = v.replay
    LIMIT 1
  ) d
  WHERE v.replay IS NOT NULL
),` : ''}
ok AS (
  SELECT v.i, v.job_id, v.p, v.load, l.workspace_id,
    CASE WHEN v.p ? 'status' THEN v.p->>'status' ELSE l.status END AS status,
    CASE WHEN v.p ? 'attempt' THEN (v.p->>'attempt')::int ELSE l.attempt END AS attempt,
    COALESCE((SELECT max(e.sequence) FROM job_events e WHERE e.job_id = v.job_id), 0) AS base
  FROM w v JOIN locked l ON l.id = v.job_id
  WHERE l.attempt = v.attempt AND l.status = ANY (v.expect) AND NOT (v.uncancelled AND l.cancel_requested_at IS NOT NULL)${replays ? ' AND v.i NOT IN (SELECT i FROM done)' : ''}
),
upd AS (
  UPDATE runner_jobs r SET
    ${jobSet}
  FROM ok v
  WHERE r.id = v.job_id AND v.p <> '{}'::jsonb
  RETURNING r.id
),
${steps ? `s AS (
  SELECT * FROM jsonb_to_recordset($2::jsonb) AS s(id uuid, job_id uuid, p jsonb)
),
steps AS (
  UPDATE job_steps x SET
    ${stepSet}
  FROM s v JOIN ok a ON a.job_id = v.job_id
  WHERE x.id = v.id AND x.job_id = v.job_id
  RETURNING x.id
),` : ''}
${bulkEvents ? 'ev AS (SELECT 1 WHERE false)' : `ev AS (
  INSERT INTO job_events (job_id, sequence, id, step_id, workspace_id, type, actor, attempt, payload)
  SELECT e.job_id, a.base + e.ord, e.id, e.step_id, a.workspace_id, e.type, e.actor,
    COALESCE(e.attempt, a.attempt), e.payload
  FROM jsonb_to_recordset(${steps ? '$3' : '$2'}::jsonb)
    AS e(job_id uuid, ord int, id uuid, step_id uuid, type text, actor text, attempt int, payload jsonb)
  JOIN ok a ON a.job_id = e.job_id
  RETURNING 1
)`}
SELECT a.i, a.status, a.attempt, a.base, a.workspace_id,
  (extract(epoch FROM now()) * 1000)::float8 AS tx_ms, true AS applied, false AS replayed,
  ${jobColumn(loads, 'a.load', 'a.job_id', 'a.status', 'a.attempt')} AS job
FROM ok a${steps ? `
WHERE gantry_assert(
  (SELECT count(*) FROM steps) = (SELECT count(*) FROM s JOIN ok b ON b.job_id = s.job_id),
  'a step in the batch does not belong to its job')` : ''}${replays ? `
UNION ALL
SELECT d.i, l.status, l.attempt, d.base, l.workspace_id, d.tx_ms, true, true,
  ${jobColumn(loads, 'v.load', 'v.job_id', 'l.status', 'l.attempt')}
FROM done d JOIN w v ON v.i = d.i JOIN locked l ON l.id = v.job_id` : ''}
UNION ALL
SELECT v.i, l.status, l.attempt, NULL, NULL, NULL, false, NULL, NULL
FROM w v LEFT JOIN locked l ON l.id = v.job_id
WHERE v.i NOT IN (SELECT i FROM ok)${replays ? ' AND v.i NOT IN (SELECT i FROM done)' : ''}`;
}

/** The text of the wave with every part, its events inserted by the statement (exported for plan tests). */
export const WAVE_SQL = waveSql({ bulkEvents: false, replays: true, loads: true, steps: true });

/** The shape of a wave as a key, and the suffix of its statement's name. */
function shapeKey({ bulkEvents, replays, loads, steps }: WaveShape): string {
  return `${bulkEvents ? '_copy' : ''}${replays ? '_replay' : ''}${loads ? '_load' : ''}${steps ? '_steps' : ''}`;
}

/** The wave statements made so far, by shape (`gantry_wave`, `gantry_wave_load`, …). */
const WAVES = new Map<string, Statement>();

/** The wave statement for `shape`, made on its first use. */
function waveStatement(shape: WaveShape): Statement {
  const key = shapeKey(shape);
  let wave = WAVES.get(key);
  if (wave === undefined) {
    wave = statement(`gantry_wave${key}`, waveSql(shape));
    WAVES.set(key, wave);
  }
  return wave;
}

/** True when `err` is the collision described in the module doc: retry the statement. */
export function isSequenceConflict(err: unknown): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  return e.code === '23505' && e.constraint === 'job_events_pkey';
}

/** Splits writes into waves with at most one write per job, keeping each job's order. */
function waves(writes: readonly JobWrite[]): number[][] {
  const out: number[][] = [];
  const depth = new Map<string, number>();
  writes.forEach((w, i) => {
    const d = depth.get(w.jobId) ?? 0;
    depth.set(w.jobId, d + 1);
    (out[d] ??= []).push(i);
  });
  return out;
}

/** Applies one wave (one write per job at most); results in the wave's order. */
async function applyWave(db: Queryable, writes: readonly JobWrite[], bulkEvents: boolean): Promise<WriteResult[]> {
  const rows: WaveRow[] = writes.map((w, i) => {
    const p = toColumns(w.set ?? {}, JOB_COLUMNS);
    if (w.to !== undefined) p.status = w.to;
    return {
      i, job_id: w.jobId, attempt: w.attempt, expect: w.expect, p, replay: w.replay === true ? w.events[0]!.id! : null, after: w.replay === true ? (w.replayAfter ?? null) : null, load: w.load === true,
      uncancelled: w.unlessCancelRequested === true,
    };
  });
  // A write may change one step twice (started, then completed): the later change wins. Keyed by
  // job and step, so that a write naming another job's step keeps its own row, which the
  // statement then refuses ('a step in the batch does not belong to its job').
  const merged = new Map<string, StepRow>();
  for (const w of writes) {
    for (const s of w.steps ?? []) {
      const key = `${w.jobId}:${s.stepId}`;
      const row = merged.get(key) ?? { id: s.stepId, job_id: w.jobId, p: {} };
      merged.set(key, { ...row, p: { ...row.p, ...toColumns(s, STEP_COLUMNS) } });
    }
  }
  const steps = [...merged.values()].filter((s) => Object.keys(s.p).length > 0);
  const eventIds = writes.map((w) => w.events.map((e) => e.id ?? uuidv7()));
  const events = bulkEvents ? [] : writes.flatMap((w, i) =>
    w.events.map((e, k) => ({
      job_id: w.jobId,
      ord: k + 1,
      id: eventIds[i]![k],
      step_id: e.stepId ?? null,
      type: e.type,
      actor: e.actor,
      attempt: e.attempt ?? null,
      payload: e.payload,
    })),
  );
  const result = await db.query<{
    i: number;
    status: JobStatus | null;
    attempt: number | null;
    base: number | null;
    workspace_id: string | null;
    tx_ms: number | null;
    applied: boolean;
    replayed: boolean | null;
    job: LoadedJob | null;
  }>(waveStatement({ bulkEvents, replays: rows.some((r) => r.replay !== null), loads: rows.some((r) => r.load), steps: steps.length > 0 })([
    JSON.stringify(rows),
    ...(steps.length > 0 ? [JSON.stringify(steps)] : []),
    ...(bulkEvents ? [] : [JSON.stringify(events)]),
  ]));
  const byIndex = new Map(result.rows.map((r) => [r.i, r]));
  const results = writes.map((w, i): WriteResult => {
    const r = byIndex.get(i);
    if (!r?.applied) return { applied: false, status: r?.status ?? null, attempt: r?.attempt ?? null, events: [] };
    const at = new Date(r.tx_ms!).toISOString();
    const stored = w.events.map(
      (e, k) =>
        ({
          v: CURRENT_EVENT_VERSION,
          id: eventIds[i]![k]!,
          jobId: w.jobId,
          workspaceId: r.workspace_id!,
          stepId: e.stepId ?? null,
          sequence: r.base! + k + 1,
          attempt: e.attempt ?? r.attempt!,
          actor: e.actor,
          at,
          type: e.type,
          payload: e.payload,
        }) as JobEvent,
    );
    return { applied: true, status: r.status, attempt: r.attempt, events: stored, ...(r.job === null ? {} : { job: r.job }) };
  });
  if (bulkEvents) await copyEvents(db as PoolClient, results.flatMap((r, i) => (byIndex.get(i)?.replayed ? [] : r.events)));
  const replayed = writes.flatMap((w, i) => (byIndex.get(i)?.replayed ? [{ i, jobId: w.jobId, base: byIndex.get(i)!.base! }] : []));
  if (replayed.length > 0) {
    const stored = await storedEvents(db, replayed);
    for (const r of replayed) results[r.i] = { ...results[r.i]!, events: stored.get(r.i) ?? [] };
  }
  return results;
}

/**
 * The events replayed writes stored the first time, read back: a replay is answered with what is
 * stored, never with its own input rebuilt, which may differ (a scheduler's command write is
 * built from the job as it is now, and may even hold other events). Those of one write are the
 * run from its first event up to the first event of another transaction (another
 * `created_at`): a read of the write's own events and one more, however many followed.
 * (Two writes of one job in one caller's transaction would read as one run.)
 */
async function storedEvents(db: Queryable, replayed: readonly { i: number; jobId: string; base: number }[]): Promise<Map<number, JobEvent[]>> {
  const { rows } = await db.query<{ i: number; job_id: string; sequence: number; id: string; step_id: string | null; workspace_id: string; type: string; actor: string; attempt: number; payload: unknown; created_at: Date }>({
    text: `SELECT r.i, e.job_id, e.sequence, e.id, e.step_id, e.workspace_id, e.type, e.actor, e.attempt, e.payload, e.created_at
     FROM unnest($1::int[], $2::uuid[], $3::int[]) AS r(i, job_id, base)
     JOIN job_events f ON f.job_id = r.job_id AND f.sequence = r.base + 1
     JOIN job_events e ON e.job_id = r.job_id AND e.sequence > r.base AND e.created_at = f.created_at
       AND e.sequence < COALESCE((
         SELECT g.sequence FROM job_events g WHERE g.job_id = r.job_id AND g.sequence > r.base AND g.created_at <> f.created_at
         ORDER BY g.sequence LIMIT 1), 2147483647)
     ORDER BY r.i, e.sequence`,
    values: [replayed.map((r) => r.i), replayed.map((r) => r.jobId), replayed.map((r) => r.base)],
  });
  const byWrite = new Map<number, JobEvent[]>();
  for (const e of rows) {
    const event = {
      v: CURRENT_EVENT_VERSION, id: e.id, jobId: e.job_id, workspaceId: e.workspace_id, stepId: e.step_id, sequence: e.sequence,
      attempt: e.attempt, actor: e.actor, at: e.created_at.toISOString(), type: e.type, payload: e.payload,
    } as JobEvent;
    const events = byWrite.get(e.i);
    if (events) events.push(event);
    else byWrite.set(e.i, [event]);
  }
  return byWrite;
}

/** Options of {@link applyWrites}. */
export interface ApplyOptions {
  /**
   * Append the events with COPY after the statement instead of inside it: faster for large
   * batches, one more round trip. `db` must then be a client inside an open transaction.
   */
  bulkEvents?: boolean;
  /**
   * Ask a refused replay once more, in a statement of its own (default true; see the module
   * doc). False answers it refused, for a caller that asks again itself: one whose statements
   * commit alone, and which must not run the first statement's writes again if the second fails.
   */
  askReplaysAgain?: boolean;
}

/**
 * Applies `writes` in order: waves of one write per job, each one statement. Pass a pool to
 * commit each wave on its own (the group writer does, with one wave per flush), or a client with
 * an open transaction to commit everything together.
 */
export async function applyWrites(db: Queryable, writes: readonly JobWrite[], options: ApplyOptions = {}): Promise<WriteResult[]> {
  writes.forEach(assertWellFormed);
  const results: WriteResult[] = new Array(writes.length);
  for (const wave of waves(writes)) {
    const waveResults = await applyWave(db, wave.map((i) => writes[i]!), options.bulkEvents ?? false);
    wave.forEach((i, k) => (results[i] = waveResults[k]!));
    // A refused replay is asked once more, in a statement of its own (see the module doc).
    if (options.askReplaysAgain === false) continue;
    const refusedReplays = wave.filter((i) => isRefusedReplay(writes[i]!, results[i]!));
    if (refusedReplays.length === 0) continue;
    const again = await applyWave(db, refusedReplays.map((i) => writes[i]!), options.bulkEvents ?? false);
    refusedReplays.forEach((i, k) => (results[i] = again[k]!));
  }
  return results;
}

/** True for a replay its statement refused, which a statement of its own may yet answer (see the module doc). */
export function isRefusedReplay(write: JobWrite, result: WriteResult): boolean {
  return write.replay === true && !result.applied;
}
