/**
 * Named statements: PostgreSQL parses and plans a named statement once per connection and
 * then runs it from its plan cache (a generic plan, when the planner judges it no dearer than
 * the plans it makes per call). A hot statement that runs hundreds of times a second in small
 * batches — the claim, a writer's wave, a job load — otherwise spends more time being parsed
 * and planned than executed (docs/performance.md). A statement that takes a list of ids takes
 * it as JSON through `byIds`: with a `uuid[]` parameter PostgreSQL plans it anew on every call.
 * The text of a name must never change:
 * statements are named for their text, each built once (at module load, or on first use).
 *
 * Behind PgBouncer in transaction mode this needs PgBouncer 1.21 or later with
 * `max_prepared_statements` set (README, "Running it").
 */
import type { QueryConfig } from 'pg';

/** A statement with a fixed text; call it with its values to get the query to run. */
export type Statement = (values: unknown[]) => QueryConfig;

const declared = new Map<string, string>();

/** Declares the named statement `name` with `text`; one name never stands for two texts. */
export function statement(name: string, text: string): Statement {
  const known = declared.get(name);
  if (known !== undefined && known !== text) throw new Error(`statement ${name} is declared with two texts`);
  declared.set(name, text);
  return (values) => ({ name, text, values });
}
