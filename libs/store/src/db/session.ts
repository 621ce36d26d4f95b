/**
 * The settings every connection Gantry opens starts with, sent in the startup packet's `options`
 * (no round trip of their own):
 *
 * - `jit = off`. Gantry's statements touch a few rows each by primary key or a small partial
 *   index; none is worth compiling. PostgreSQL compiles every statement whose estimated cost
 *   passes `jit_above_cost` (100,000 by default), and the estimates of Gantry's statements grow
 *   with the tables and their statistics whatever rows a run touches: a set-returning function
 *   counts as 100 rows, a job's events or steps as hundreds when the sampled statistics
 *   underestimate the jobs. Measured: with a job history, the scheduler's deadline queries were
 *   compiled in every maintenance pass (7–26 ms each); and once the job writer's named statement
 *   ran on its generic plan (`npm run bench -- floor`), every wave was, one write or five
 *   hundred, at 100–130 ms of CPU for a statement that runs in under a millisecond
 *   (docs/performance.md).
 *
 * Options given the way libpq takes them come after these, so they win: `PGOPTIONS` in the
 * environment (which node-pg reads only when no options are passed), then the URL's own
 * `?options=…`.
 */

/** The server settings of every Gantry connection, as `-c name=value` options. */
export const SESSION_OPTIONS = '-c jit=off';

/**
 * A connection's URL without its `options` parameter, and the options to send: Gantry's, then
 * `pgOptions` (the environment's `PGOPTIONS` by default), then the URL's.
 */
export function withSessionOptions(
  databaseUrl: string,
  // eslint-disable-next-line no-restricted-properties -- the driver's own variable, silenced by explicit options unless passed on
  pgOptions: string | undefined = process.env.PGOPTIONS,
): { connectionString: string; options: string } {
  const url = new URL(databaseUrl);
  const own = url.searchParams.get('options');
  url.searchParams.delete('options');
  const options = [SESSION_OPTIONS, pgOptions, own].filter((o) => o !== undefined && o !== null && o.trim() !== '').join(' ');
  return { connectionString: own === null ? databaseUrl : url.toString(), options };
}
