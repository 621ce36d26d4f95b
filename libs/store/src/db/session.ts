/**
 * What every connection Gantry opens sets before its first statement: `jit = off`.
 *
 * Gantry's statements touch a few rows each, by primary key or through a small partial index;
 * none is worth compiling. PostgreSQL compiles every statement whose estimated cost passes
 * `jit_above_cost` (100,000 by default), and the estimates of Gantry's statements grow with the
 * tables and their statistics whatever rows a run touches: a set-returning function counts as
 * 100 rows, a job's events or steps as hundreds when the sampled statistics underestimate the
 * jobs. Measured: with a job history, the scheduler's deadline queries were compiled in every
 * maintenance pass (7–26 ms each); and once the job writer's named statement ran on its generic
 * plan (`npm run bench -- floor`), every wave was, one write or five hundred, at 100–130 ms of
 * CPU for a statement that runs in under a millisecond (docs/performance.md).
 *
 * It is a statement run when a connection opens, and awaited before the connection serves
 * anything (the pool's `onConnect`, the ORM pool's `afterCreate`), rather than a startup option,
 * so that the driver's own `PGOPTIONS` and a URL's `?options=` keep working as they do; this
 * setting comes after them.
 */
export const SESSION_SQL = 'SET jit = off';
