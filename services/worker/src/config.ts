/**
 * The worker's own environment variables, on top of the shared ones. The README's
 * configuration tables are generated from this shape (`npm run docs:config`).
 */
import { z } from 'zod';
import { DEFAULT_POOL, POOL_PATTERN } from '@gantry/contracts';
import { envInt, envOptional, envString, envUrl } from '@gantry/runtime';

const ENV_NAME_LIST = /^[A-Za-z_][A-Za-z0-9_]*(,[A-Za-z_][A-Za-z0-9_]*)*$/;
const WORKER_ID = /^[A-Za-z0-9_-]{1,128}$/;
const STEP_USER = /^(worker|\d{1,10}(:\d{1,10})?|\d{1,10}-\d{1,10})$/;

/** `AI_API_KEY_BY_SECRET`: a JSON object of secret reference → API key; the value is never echoed. */
const apiKeysBySecret = z
  .string()
  .optional()
  .transform((raw, ctx): Readonly<Record<string, string>> => {
    if (raw === undefined) return {};
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object of "<workspaceId|*>/<name>": "<key>"' });
      return z.NEVER;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      ctx.addIssue({ code: 'custom', message: 'must be a JSON object' });
      return z.NEVER;
    }
    const entries = Object.entries(parsed);
    for (const [ref, key] of entries) {
      if (!/^[^/]+\/[^/]+$/.test(ref) || typeof key !== 'string' || key === '') {
        ctx.addIssue({ code: 'custom', message: 'every entry must map "<workspaceId|*>/<name>" to a non-empty string' });
        return z.NEVER;
      }
    }
    return Object.fromEntries(entries) as Record<string, string>;
  })
  .describe(
    'JSON object mapping an AI_ACTION `apiKeySecret` reference to an API key: `"<workspaceId>/<name>"` for one workspace, `"*/<name>"` for every workspace. Secret.',
  );

export const WORKER_ENV = {
  METRICS_PORT: envInt({ default: 9465, min: 0, max: 65_535, description: 'Port of /metrics, /healthz, /readyz; 0 takes any free port (several workers on one host).' }),
  HTTP_HOST: envString({ default: '0.0.0.0', description: 'Address the HTTP server listens on.' }),
  WORKER_ID: z
    .string()
    .regex(WORKER_ID, 'must be 1–128 letters, digits, _ or -')
    .optional()
    .describe('This worker’s id in heartbeats, cancel subjects and `worker_id`; default `<host>-<pid>-<random>`. Unique per process.'),
  WORKER_POOL: envString({
    default: DEFAULT_POOL,
    pattern: POOL_PATTERN,
    patternHint: 'must start with a lower case letter, then lower case letters, digits, _ or -',
    description: 'Worker pool whose dispatches this worker pulls.',
  }),
  WORKER_CONCURRENCY: envInt({ default: 8, min: 1, max: 1024, description: 'Jobs this worker runs at once (its slots).' }),
  WORKER_EXPRESS_SLOTS: envInt({
    default: 0,
    min: 0,
    max: 1024,
    description: 'Slots beyond WORKER_CONCURRENCY for urgent jobs only (priority at or above the scheduler’s DISPATCH_EXPRESS_PRIORITY), so that they start while every ordinary slot is busy; 0 turns the express lane off. Set it only once every scheduler replica knows express slots.',
  }),
  WORKER_WORK_DIR: envString({ default: '/tmp/gantry-jobs', description: 'Root of the per-attempt job directories; each is removed after its attempt.' }),
  WORKER_COMMAND_ENV: envString({
    default: 'PATH,LANG,LC_ALL,TZ',
    pattern: ENV_NAME_LIST,
    patternHint: 'must be a comma-separated list of environment variable names',
    description: 'Comma-separated names of the worker’s environment variables that COMMAND and GATE processes inherit; nothing else of the worker’s environment reaches them.',
  }),
  WORKER_STEP_USER: z
    .string()
    .regex(STEP_USER, 'must be `uid`, `uid:gid`, `first-last` (numbers) or `worker`')
    .optional()
    .describe(
      'User (`uid[:gid]`) that COMMAND and GATE processes run as, so that they cannot read the worker’s environment, memory or files; a range `first-last` of at least WORKER_CONCURRENCY uids gives each running attempt a user of its own, so that jobs cannot read each other’s either; `worker` runs them as the worker’s own user. Another user needs a worker running as root. Default: `65534:65534` (nobody) for a worker running as root, else the worker’s own user.',
    ),
  WORKER_KILL_GRACE_MS: envInt({ default: 5_000, min: 0, max: 60_000, description: 'Milliseconds between SIGTERM and SIGKILL of a step’s process group on cancel or timeout (a COMMAND spec’s `killGraceMs` may ask for longer). Past a job’s deadline, also how often a worker still in CLEANUP checks that the attempt is its own (a second at least).' }),
  WORKER_DRAIN_GRACE_MS: envInt({ default: 15_000, min: 0, max: 3_600_000, description: 'Milliseconds a SIGTERM lets running jobs finish before handing the rest back to the queue (capped by SHUTDOWN_TIMEOUT_MS).' }),
  WORKER_PROGRESS_INTERVAL_MS: envInt({ default: 5_000, min: 0, max: 3_600_000, description: 'Least milliseconds between two `job.progress` events of a job; 0 writes one per completed step. The progress column is updated at every step.' }),
  WORKER_WRITE_RETRY_MS: envInt({
    default: 60_000,
    min: 0,
    max: 3_600_000,
    description: 'How long a write of a running attempt is retried while PostgreSQL is unreachable (each try failing: refused, reset, the server shutting down, or no answer within WORKER_QUERY_TIMEOUT_MS). Past it the worker abandons the attempt: its steps are stopped (nothing they did could be recorded) and the scheduler queues the job again once the worker no longer lists it.',
  }),
  WORKER_QUERY_TIMEOUT_MS: envInt({
    default: 30_000,
    min: 100,
    max: 3_600_000,
    description: 'Milliseconds the worker waits for the answer to one statement before it gives up on the statement and its connection (a network that drops packets without a reset, a server that hangs): the try fails, and a write of a running attempt is retried on a new connection as any failed try. Far longer than any statement of the worker takes.',
  }),
  WORKER_HOLD_CHECK_MS: envInt({ default: 5_000, min: 100, max: 3_600_000, description: 'Milliseconds between two checks, while an attempt runs, that it is still this worker’s (a write of its guard alone): an attempt the scheduler gave to another worker while this one could not beat (cut off from NATS, not from PostgreSQL) stops within this long, even if its step writes nothing. A check PostgreSQL cannot answer changes nothing.' }),
  WORKER_STEP_WRITE_DELAY_MS: envInt({ default: 10, min: 0, max: 10_000, description: 'Milliseconds the write of a step boundary (completion, next start) waits to travel with the next write; a job of quick steps then costs two writes. Live events are that much later.' }),
  WORKER_PULL_GATHER_MS: envInt({ default: 20, min: 0, max: 1_000, description: 'Milliseconds a freed slot waits for more to free before the worker asks for more dispatches, while pulls it made earlier still wait for messages (those take the next dispatches meanwhile); a worker with no pull waiting asks at once. 0 asks at once always.' }),
  WORKER_OUTPUT_FLUSH_MS: envInt({ default: 250, min: 10, max: 60_000, description: 'Milliseconds between writes of a running command’s `step.output` events.' }),
  WORKER_MAX_STEP_OUTPUT_BYTES: envInt({ default: 1_048_576, min: 0, max: 1_073_741_824, description: 'Bytes of a step’s output streamed as `step.output` events at most; the rest is counted and kept in the tail only.' }),
  AI_BASE_URL: envUrl({ default: 'https://api.openai.com/v1', protocols: ['http', 'https'], description: 'Base URL of the OpenAI-compatible API of AI_ACTION steps.' }),
  AI_MODEL: envString({ default: 'gpt-4o-mini', description: 'Model of AI_ACTION steps that name none.' }),
  AI_API_KEY: envOptional({ description: 'API key sent to AI_BASE_URL (never to a URL a step names). Secret.' }),
  AI_API_KEY_BY_SECRET: apiKeysBySecret,
  AI_TIMEOUT_MS: envInt({ default: 120_000, min: 1, max: 3_600_000, description: 'Timeout of an AI_ACTION step that names none, retries included.' }),
  AI_MAX_RETRIES: envInt({ default: 4, min: 0, max: 20, description: 'Retries of an AI call answered 429 or 5xx, or cut off, before the step fails.' }),
  AI_RETRY_BASE_MS: envInt({ default: 500, min: 1, max: 60_000, description: 'First AI retry delay in milliseconds; doubles per retry (with jitter) unless the server sends Retry-After.' }),
};
