/**
 * Limits on everything a client can send. The API answers a request over a limit with a 4xx
 * naming the limit; the scheduler dead-letters a NATS command over a limit. Sizes are in
 * bytes of UTF-8 JSON.
 */
export const Limits = {
  /** Largest HTTP request body the API reads (a full batch of jobs). */
  maxRequestBytes: 16 * 1024 * 1024,
  /**
   * Largest NATS command message (one submit with its payload and steps); half of NATS's
   * 1 MiB message limit, so a refused command always fits in its dead letter.
   */
  maxCommandBytes: 512 * 1024,
  /**
   * Levels of objects and arrays a request body or command may nest, the envelope included
   * (a job's payload inside a batch sits four levels down). Deeper JSON would exhaust the
   * stack of whatever checks or stores it, PostgreSQL's jsonb included.
   */
  maxJsonDepth: 128,
  /** Largest job payload, serialised. */
  maxPayloadBytes: 256 * 1024,
  /** Largest step spec, serialised. */
  maxStepSpecBytes: 64 * 1024,
  /** Largest step output a handler may record, serialised; a larger one is stored as `{ truncated: true, bytes }`. */
  maxResultBytes: 256 * 1024,
  /**
   * Largest job result (its steps' outputs by name), serialised: the largest outputs in it are
   * replaced by such stand-ins until it fits, so that `job.completed`, which carries it, stays
   * well within a NATS message (1 MiB by default). Each step keeps its whole output.
   */
  maxJobResultBytes: 512 * 1024,
  /** Steps in one job. */
  maxStepsPerJob: 100,
  /** Jobs in one `POST /runner-jobs/batch`. */
  maxBatchJobs: 1000,
  /** Length of a job type, step name, agent task id or idempotency key. */
  maxNameLength: 200,
  /** Length of a free-text reason or comment. */
  maxReasonLength: 2000,
  /** Length of an error message kept on a job or step. */
  maxErrorMessageLength: 4000,
  /** Length of an error's code (a catalog code, or a step handler's own). */
  maxErrorCodeLength: 100,
  /** Largest chunk of command output carried by one `step.output` event. */
  maxOutputChunkBytes: 16 * 1024,
  /** Tail of command output kept on the step row. */
  maxOutputTailBytes: 64 * 1024,
  /** Arguments in a COMMAND argv. */
  maxArgvLength: 1000,
  /** Environment variables a step may set. */
  maxEnvVars: 200,
  /** Rows in one page of a list endpoint. */
  maxPageSize: 500,
  /** Rows in a page when the client does not ask. */
  defaultPageSize: 50,
  /** Attempts a job may ask for. */
  maxAttempts: 100,
  /** Longest timeout a job or step may ask for. */
  maxTimeoutMs: 7 * 24 * 3600 * 1000,
  /** Furthest in the future a job may be delayed. */
  maxDelayMs: 365 * 24 * 3600 * 1000,
  /** Messages in one AI_ACTION prompt. */
  maxAiMessages: 200,
} as const;

/** Priority: an integer, higher runs first. */
export const Priority = {
  min: 0,
  max: 100,
  default: 50,
} as const;

/** Defaults for a job's time and retry policy when the submitter does not say. */
export const JobDefaults = {
  maxAttempts: 3,
  timeoutMs: 3600 * 1000,
  backoff: { kind: 'exponential', initialMs: 1000, maxMs: 5 * 60 * 1000, jitter: 0.2 },
} as const;
