/**
 * `GET /runner-jobs`: a workspace's jobs, filtered, in one of four orders, one page at a time.
 *
 * Pages are keyset-paginated: the cursor carries the sort key of the last job of the page
 * (`created_at` to the microsecond, and `priority` when sorting by it) plus its id, and the next
 * page starts strictly after it. Jobs inserted while a client pages through therefore never
 * shift a page: no job is served twice and none that existed is skipped. Every order is uniform
 * in direction, so the key compares as one row value and `runner_jobs_list_idx` serves the
 * created-at orders.
 */
import { z } from 'zod';
import { GantryError } from '@gantry/contracts';
import type { JobFilter, JobSort, JobSummary, ListJobsQuery } from '../schemas.js';
import type { Queryable } from './read.js';
import { JOB_SUMMARY_COLUMNS, jobSummary, type JobRow } from './views.js';

/** Appends `value` to `params` and returns its placeholder. */
function param(params: unknown[], value: unknown): string {
  params.push(value);
  return `$${params.length}`;
}

/**
 * SQL conditions (alias `j`) for `filter` in `workspaceId`, with their values appended to
 * `params`. The workspace condition always comes first.
 */
export function filterConditions(workspaceId: string, filter: JobFilter, params: unknown[]): string[] {
  const where = [`j.workspace_id = ${param(params, workspaceId)}`];
  if (filter.status !== undefined) where.push(`j.status = ANY(${param(params, [...new Set(filter.status)])}::text[])`);
  if (filter.type !== undefined) where.push(`j.type = ${param(params, filter.type)}`);
  if (filter.agentTaskId !== undefined) where.push(`j.agent_task_id = ${param(params, filter.agentTaskId)}`);
  if (filter.priorityMin !== undefined) where.push(`j.priority >= ${param(params, filter.priorityMin)}`);
  if (filter.priorityMax !== undefined) where.push(`j.priority <= ${param(params, filter.priorityMax)}`);
  // Instants are shown to the millisecond: "after T" excludes everything shown as T's millisecond
  // (and nothing shown after it, however finely T is given).
  if (filter.createdAfter !== undefined) {
    where.push(`j.created_at >= date_trunc('milliseconds', ${param(params, filter.createdAfter)}::timestamptz) + interval '1 millisecond'`);
  }
  if (filter.createdBefore !== undefined) where.push(`j.created_at < ${param(params, filter.createdBefore)}::timestamptz`);
  return where;
}

const CursorKey = z.strictObject({
  s: z.string(),
  p: z.int().optional(),
  c: z.string().regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/),
  i: z.uuid(),
});
type CursorKey = z.infer<typeof CursorKey>;

/** The opaque cursor of a page that ends at `key`. */
export function encodeCursor(key: CursorKey): string {
  return Buffer.from(JSON.stringify(key), 'utf8').toString('base64url');
}

/** The key a cursor carries; VALIDATION_FAILED when it is not one this API made for `sort`. */
export function decodeCursor(cursor: string, sort: JobSort): CursorKey {
  const invalid = (why: string) =>
    new GantryError('VALIDATION_FAILED', `invalid cursor: ${why}`, { issues: [{ path: 'cursor', message: why }] });
  let key: CursorKey;
  try {
    key = CursorKey.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw invalid('not a cursor of this API');
  }
  if (key.s !== sort) throw invalid(`it was made for sort=${key.s}, not sort=${sort}`);
  if (sort.endsWith('priority') && key.p === undefined) throw invalid('it lacks the priority key');
  return key;
}

const ORDER: Record<JobSort, { columns: string[]; direction: 'ASC' | 'DESC' }> = {
  '-createdAt': { columns: ['j.created_at', 'j.id'], direction: 'DESC' },
  createdAt: { columns: ['j.created_at', 'j.id'], direction: 'ASC' },
  '-priority': { columns: ['j.priority', 'j.created_at', 'j.id'], direction: 'DESC' },
  priority: { columns: ['j.priority', 'j.created_at', 'j.id'], direction: 'ASC' },
};

/** The created-at of a row to the microsecond, as the cursor carries it. */
const CURSOR_AT = `to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at`;

/** One page of the workspace's jobs. */
export async function listJobs(
  db: Queryable,
  workspaceId: string,
  query: ListJobsQuery,
): Promise<{ items: JobSummary[]; nextCursor: string | null }> {
  const params: unknown[] = [];
  const where = filterConditions(workspaceId, query, params);
  const order = ORDER[query.sort];
  if (query.cursor !== undefined) {
    const key = decodeCursor(query.cursor, query.sort);
    const values = [
      ...(order.columns.length === 3 ? [param(params, key.p)] : []),
      `${param(params, key.c)}::timestamptz`,
      `${param(params, key.i)}::uuid`,
    ];
    where.push(`(${order.columns.join(', ')}) ${order.direction === 'DESC' ? '<' : '>'} (${values.join(', ')})`);
  }
  const sql = `SELECT ${JOB_SUMMARY_COLUMNS}, ${CURSOR_AT}
FROM runner_jobs j WHERE ${where.join(' AND ')}
ORDER BY ${order.columns.map((c) => `${c} ${order.direction}`).join(', ')}
LIMIT ${param(params, query.limit + 1)}`;
  const { rows } = await db.query<JobRow & { cursor_at: string }>(sql, params);
  const page = rows.slice(0, query.limit);
  const last = page[page.length - 1];
  const nextCursor =
    rows.length > query.limit && last
      ? encodeCursor({ s: query.sort, ...(order.columns.length === 3 ? { p: last.priority } : {}), c: last.cursor_at, i: last.id })
      : null;
  return { items: page.map(jobSummary), nextCursor };
}
