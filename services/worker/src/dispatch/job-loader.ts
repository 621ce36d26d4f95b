/**
 * Loads dispatched jobs with their steps: one statement for every job asked for in the same
 * turn of the event loop, so a fetched batch of dispatches costs one round trip, not one per
 * job (ARCHITECTURE.md, invariant 9).
 */
import { byIds, type Pool, statement } from '@gantry/store';
import type { LoadedJob } from '../engine/types.js';

/**
 * The jobs of `$1` (a JSON array of ids), each found by its primary key. The ids come as JSON,
 * not as `uuid[]`: the planner sizes a `uuid[]` parameter by its value, so its plan for one id is
 * always cheaper than the generic plan and it re-planned the statement on every call (≈ 100 µs,
 * a job load at a steady rate); a JSON array's size is unknown to every plan alike, and the
 * generic plan stays (`byIds`).
 */
const LOAD_JOBS = statement('gantry_load_jobs', `
SELECT j.id, j.workspace_id AS "workspaceId", j.type, j.status, j.attempt, j.failures,
  j.max_attempts AS "maxAttempts", j.backoff, j.timeout_ms AS "timeoutMs", j.payload,
  COALESCE((SELECT json_agg(json_build_object(
      'id', s.id, 'ordinal', s.ordinal, 'name', s.name, 'phase', s.phase, 'type', s.type,
      'status', s.status, 'spec', s.spec, 'timeoutMs', s.timeout_ms, 'output', s.output) ORDER BY s.ordinal)
    FROM job_steps s WHERE s.job_id = j.id), '[]'::json) AS steps
FROM ${byIds('runner_jobs', '$1', 'j')}`);

interface Waiting {
  resolve(job: LoadedJob | undefined): void;
  reject(err: unknown): void;
}

/** Batches job loads; see the module doc. */
export class JobLoader {
  readonly #pool: Pool;
  #waiting = new Map<string, Waiting[]>();
  #scheduled = false;

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** The job `id` with its steps, or undefined when there is no such job. */
  load(id: string): Promise<LoadedJob | undefined> {
    return new Promise((resolve, reject) => {
      const list = this.#waiting.get(id);
      if (list) list.push({ resolve, reject });
      else this.#waiting.set(id, [{ resolve, reject }]);
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => void this.#run());
      }
    });
  }

  async #run(): Promise<void> {
    const batch = this.#waiting;
    this.#waiting = new Map();
    this.#scheduled = false;
    try {
      const { rows } = await this.#pool.query<LoadedJob>(LOAD_JOBS([JSON.stringify([...batch.keys()])]));
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const [id, waiters] of batch) for (const w of waiters) w.resolve(byId.get(id));
    } catch (err) {
      for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
    }
  }
}
