/**
 * Whether a stored job is the one a spec describes, for idempotency keys: a repeated key with
 * the same job answers the original; with a different job it is a conflict. Two jobs are the
 * same when every field the submitter chose (after defaults) is equal; key order in JSON
 * objects and the spelling of instants do not matter.
 */
import { DEFAULT_POOL, type JobSpec } from '@gantry/contracts';
import type { JobView } from '../schemas.js';

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
  );
}

/**
 * An instant in milliseconds as it reads back once stored: PostgreSQL keeps microseconds,
 * rounding finer fractions half to even (its `rint`), and node-postgres cuts them to
 * milliseconds. `Date.parse` alone cuts `…00.1239995Z` to .123 where the stored job reads .124.
 */
export function storedInstant(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const fine = /\.(\d{7,})/.exec(value);
  if (!fine) return Date.parse(value);
  const micros = roundHalfEven(Number(`0.${fine[1]}`) * 1_000_000);
  return Date.parse(value.replace(fine[0], '')) + Math.floor(micros / 1_000);
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

function ofSpec(spec: JobSpec): unknown {
  return {
    type: spec.type,
    priority: spec.priority,
    pool: spec.pool ?? DEFAULT_POOL,
    payload: spec.payload,
    agentTaskId: spec.agentTaskId ?? null,
    runAt: storedInstant(spec.runAt),
    timeoutMs: spec.timeoutMs,
    maxAttempts: spec.maxAttempts,
    backoff: spec.backoff,
    steps: spec.steps.map((s) => ({ name: s.name, phase: s.phase, type: s.type, spec: s.spec, timeoutMs: s.timeoutMs ?? null })),
  };
}

function ofJob(job: JobView): unknown {
  return {
    type: job.type,
    priority: job.priority,
    pool: job.pool,
    payload: job.payload,
    agentTaskId: job.agentTaskId,
    runAt: storedInstant(job.runAt),
    timeoutMs: job.timeoutMs,
    maxAttempts: job.maxAttempts,
    backoff: job.backoff,
    steps: job.steps.map((s) => ({ name: s.name, phase: s.phase, type: s.type, spec: s.spec, timeoutMs: s.timeoutMs })),
  };
}

/** True when `job` is what `spec` describes. */
export function isSameJob(job: JobView, spec: JobSpec): boolean {
  return JSON.stringify(canonical(ofJob(job))) === JSON.stringify(canonical(ofSpec(spec)));
}
