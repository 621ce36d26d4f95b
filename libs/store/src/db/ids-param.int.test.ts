import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobs, createWorkspace, planNodes, planOf, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool } from './pool.js';
import { byIds } from './ids-param.js';

const db = useTestDatabase();
let pool: Pool;
let ids: string[];

beforeAll(async () => {
  // One connection: the plan cache the test reads is that connection's.
  pool = createPool(db.url, { max: 1, applicationName: 'ids-param-test' });
  // Never analyzed, as a table is before its first burst: the planner knows nothing of its size.
  ids = (await createJobs(pool, await createWorkspace(pool), 2_000)).map((j) => j.id);
});
afterAll(async () => {
  await pool.end();
});

/** How often this connection planned the named statement `name` generically and per call. */
async function plansOf(name: string): Promise<{ generic: number; custom: number }> {
  const { rows } = await pool.query('SELECT generic_plans::int AS generic, custom_plans::int AS custom FROM pg_prepared_statements WHERE name = $1', [name]);
  return rows[0];
}

describe('byIds', () => {
  it('finds the rows of the listed ids, and none for an id that is not there', async () => {
    const text = `SELECT j.id FROM ${byIds('runner_jobs', '$1', 'j')}`;
    const wanted = [ids[5]!, ids[1_500]!, '00000000-0000-4000-8000-000000000000'];
    const { rows } = await pool.query<{ id: string }>(text, [JSON.stringify(wanted)]);
    expect(rows.map((r) => r.id).sort()).toEqual([ids[5]!, ids[1_500]!].sort());
  });

  it('keeps one generic plan for a named statement, where a uuid[] parameter is planned on every call', async () => {
    const text = `SELECT j.id, j.status FROM ${byIds('runner_jobs', '$1', 'j')}`;
    const array = 'SELECT j.id, j.status FROM runner_jobs j WHERE j.id = ANY($1::uuid[])';
    for (let i = 0; i < 12; i++) {
      const some = ids.slice(i, i + 1 + (i % 3));
      await pool.query({ name: 'test_by_ids', text, values: [JSON.stringify(some)] });
      await pool.query({ name: 'test_any_uuid_array', text: array, values: [some] });
    }
    // PostgreSQL tries five custom plans first, then keeps the generic one if it costs no more.
    expect(await plansOf('test_by_ids')).toEqual({ generic: 7, custom: 5 });
    expect(await plansOf('test_any_uuid_array')).toEqual({ generic: 0, custom: 12 });
  });

  it('looks each id up by the primary key in the generic plan, never scanning the table', async () => {
    const client = await pool.connect();
    try {
      await client.query('SET plan_cache_mode = force_generic_plan');
      await client.query(`PREPARE by_ids_plan(jsonb) AS SELECT j.id, j.status FROM ${byIds('runner_jobs', '$1', 'j')}`);
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) EXECUTE by_ids_plan('${JSON.stringify(ids.slice(0, 3))}')`);
      const nodes = planNodes(planOf(rows));
      expect(nodes.filter((n) => n['Relation Name'] === 'runner_jobs').map((n) => [n['Node Type'], n['Index Name']])).toEqual([['Index Scan', 'runner_jobs_pkey']]);
      expect(nodes.some((n) => n['Node Type'] === 'Nested Loop')).toBe(true);
    } finally {
      await client.query('DEALLOCATE by_ids_plan; RESET plan_cache_mode');
      client.release();
    }
  });
});
