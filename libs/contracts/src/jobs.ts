/**
 * A job as a submitter describes it. The same schema validates `POST /runner-jobs` bodies and
 * the `job` of a NATS submit command, so both paths accept exactly the same jobs.
 */
import { z } from 'zod';
import { boundedJsonObject, unstorableStrings } from './json.js';
import { JobDefaults, Limits, Priority } from './limits.js';
import { POOL_PATTERN } from './names.js';
import { StepDefinition } from './steps.js';

/** The first and the last moment an {@link Instant} may name (UTC). */
const FIRST_MOMENT = Date.parse('0001-01-01T00:00:00.000Z');
const LAST_MOMENT = Date.parse('9999-12-31T23:59:59.999Z');

/**
 * An instant with its offset (RFC 3339), whose moment lies in the years 0001 to 9999 (UTC), with
 * an offset up to ±15:59 (PostgreSQL refuses a larger one). The moment is what counts, not the
 * year as written: `9999-12-31T23:59:59-15:00` is in the year 10000, which no RFC 3339 answer
 * can show.
 */
export const Instant = z.iso.datetime({ offset: true }).check((ctx) => {
  const offsetHours = /[+-](\d{2}):?\d{2}$/.exec(ctx.value)?.[1];
  const moment = Date.parse(ctx.value);
  const why =
    offsetHours !== undefined && Number(offsetHours) > 15
      ? 'must have an offset of at most ±15:59'
      : !Number.isNaN(moment) && !(moment >= FIRST_MOMENT && moment <= LAST_MOMENT)
        ? 'must be in the years 0001 to 9999 (UTC)'
        : undefined;
  if (why !== undefined) ctx.issues.push({ code: 'custom', message: why, input: ctx.value });
});

/** How long to wait before the next attempt after a failure. */
export const BackoffPolicy = z
  .strictObject({
    kind: z.enum(['exponential', 'fixed']).default(JobDefaults.backoff.kind),
    initialMs: z.int().min(0).max(Limits.maxTimeoutMs).default(JobDefaults.backoff.initialMs),
    maxMs: z.int().min(0).max(Limits.maxTimeoutMs).default(JobDefaults.backoff.maxMs),
    jitter: z.number().min(0).max(1).default(JobDefaults.backoff.jitter).describe(
      'Fraction of the delay drawn at random, 0 for none.',
    ),
  })
  .meta({ id: 'BackoffPolicy' });
export type BackoffPolicy = z.infer<typeof BackoffPolicy>;

/** A job to run. Defaults fill every optional field once parsed. */
export const JobSpec = z
  .strictObject({
    type: z.string().min(1).max(Limits.maxNameLength).describe('What kind of job this is, e.g. "build".'),
    priority: z.int().min(Priority.min).max(Priority.max).default(Priority.default).describe(
      'Higher runs first.',
    ),
    pool: z.string().regex(POOL_PATTERN).optional().describe('Worker pool; "default" when absent.'),
    payload: boundedJsonObject(Limits.maxPayloadBytes, 'payload').default({}),
    steps: z.array(StepDefinition).min(1).max(Limits.maxStepsPerJob),
    agentTaskId: z.string().min(1).max(Limits.maxNameLength).optional(),
    idempotencyKey: z.string().min(1).max(Limits.maxNameLength).optional(),
    runAt: Instant.optional().describe('Start no earlier than this instant.'),
    timeoutMs: z.int().min(1).max(Limits.maxTimeoutMs).default(JobDefaults.timeoutMs),
    maxAttempts: z.int().min(1).max(Limits.maxAttempts).default(JobDefaults.maxAttempts),
    backoff: BackoffPolicy.prefault({}),
  })
  .check((ctx) => {
    // PostgreSQL cannot store every string JSON can carry: refused here, naming the field.
    for (const { path, message } of unstorableStrings(ctx.value)) ctx.issues.push({ code: 'custom', path, message, input: ctx.value });

    const names = new Set<string>();
    ctx.value.steps.forEach((step, i) => {
      if (names.has(step.name)) {
        ctx.issues.push({
          code: 'custom',
          path: ['steps', i, 'name'],
          message: `step name ${JSON.stringify(step.name)} is used twice`,
          input: step.name,
        });
      }
      names.add(step.name);
    });
  })
  .meta({ id: 'JobSpec', description: 'A job as a submitter describes it.' });
export type JobSpec = z.infer<typeof JobSpec>;
export type JobSpecInput = z.input<typeof JobSpec>;

/** The error recorded on a failed step or job. */
export const JobError = z
  .strictObject({
    code: z.string().min(1).max(Limits.maxErrorCodeLength).describe('A catalog code, or a handler-defined one.'),
    message: z.string().max(Limits.maxErrorMessageLength),
    stepId: z.uuid().optional(),
    retryable: z.boolean().optional(),
  })
  .meta({ id: 'JobError' });
export type JobError = z.infer<typeof JobError>;

/**
 * Why `spec`'s runAt is refused at submission, or undefined: a delay has a limit
 * (`Limits.maxDelayMs`), as a retry's has, or a job years ahead would sit in the queue for ever.
 * Checked where a job is submitted (the API, a NATS submit), not by the schema, which also reads
 * jobs long after they were submitted.
 */
export function runAtTooFar(spec: Pick<JobSpec, 'runAt'>, now = Date.now()): string | undefined {
  if (spec.runAt === undefined || Date.parse(spec.runAt) <= now + Limits.maxDelayMs) return undefined;
  return `runAt must be at most ${Limits.maxDelayMs / 86_400_000} days ahead (Limits.maxDelayMs)`;
}
