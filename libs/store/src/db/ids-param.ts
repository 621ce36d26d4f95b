/**
 * Rows by a list of ids, with a plan that does not depend on how many there are.
 *
 * `id = ANY($1::uuid[])` is the obvious form, and a named statement written so is planned on
 * every call: the planner sizes a `uuid[]` parameter by its value, so its plan for a few ids
 * always looks cheaper than the generic plan, and PostgreSQL keeps making a custom plan (a
 * planning each time; `pg_prepared_statements` counts them). Passed as one JSON array, the
 * list's size is unknown to every plan alike and the generic plan is kept. Each id is then
 * looked up by the primary key, one probe per id in a nested loop: `OFFSET 0` keeps the
 * planner from turning the lookup into a join it would size for a hundred ids (its guess for
 * any set-returning function), where a hash join over the whole table can win.
 */

/** A FROM item: the rows of `table` whose `id` is in the JSON array `param`, as `alias`. */
export function byIds(table: string, param: string, alias: string): string {
  return `jsonb_array_elements_text(${param}::jsonb) AS ${alias}_ids(id)
CROSS JOIN LATERAL (SELECT * FROM ${table} WHERE id = ${alias}_ids.id::uuid OFFSET 0) ${alias}`;
}
