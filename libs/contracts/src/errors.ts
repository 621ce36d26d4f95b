/**
 * The error-code catalog: every error a client or a peer service can see, with a stable code,
 * its HTTP status and one sentence. HTTP answers carry the code in a problem+json body; dead
 * letters carry it in the `Gantry-Dead-Letter-Code` header. Codes never change meaning.
 */

export interface ErrorCodeInfo {
  /** HTTP status the API answers with. */
  readonly status: number;
  /** Short human title, the problem+json `title`. */
  readonly title: string;
  /** What the code means, for the docs. */
  readonly description: string;
}

export const ErrorCatalog = {
  VALIDATION_FAILED: {
    status: 400,
    title: 'Validation failed',
    description: 'A field is missing, has the wrong type, breaks a rule, or is not known.',
  },
  MALFORMED_JSON: {
    status: 400,
    title: 'Malformed JSON',
    description: 'The body is not valid JSON.',
  },
  LIMIT_EXCEEDED: {
    status: 400,
    title: 'Limit exceeded',
    description: 'A value, count, length or size is over its documented maximum; the message names it.',
  },
  UNAUTHENTICATED: {
    status: 401,
    title: 'Unauthenticated',
    description: 'No bearer token, or a token that is unknown, revoked or expired.',
  },
  FORBIDDEN: {
    status: 403,
    title: 'Forbidden',
    description: "The token's scopes do not allow this operation.",
  },
  NOT_FOUND: {
    status: 404,
    title: 'Not found',
    description: "No such resource in the caller's workspace.",
  },
  INVALID_TRANSITION: {
    status: 409,
    title: 'Invalid transition',
    description: "The job or step is not in a status that allows this operation.",
  },
  STALE_ATTEMPT: {
    status: 409,
    title: 'Stale attempt',
    description: 'The change names an attempt that is no longer the current one; it was refused.',
  },
  IDEMPOTENCY_CONFLICT: {
    status: 409,
    title: 'Idempotency conflict',
    description: 'The idempotency key was used before with a different request.',
  },
  PAYLOAD_TOO_LARGE: {
    status: 413,
    title: 'Payload too large',
    description: 'The request body or message is larger than the limit.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: 'Unsupported media type',
    description: 'The body must be application/json.',
  },
  RATE_LIMITED: {
    status: 429,
    title: 'Rate limited',
    description: "Too many requests for this token; retry after the Retry-After header's seconds.",
  },
  UNKNOWN_WORKSPACE: {
    status: 404,
    title: 'Unknown workspace',
    description: 'A command names a workspace that does not exist.',
  },
  UNSUPPORTED_VERSION: {
    status: 400,
    title: 'Unsupported version',
    description: 'A command or event carries a schema version this service does not know.',
  },
  UNKNOWN_SUBJECT: {
    status: 400,
    title: 'Unknown subject',
    description: 'A message arrived on a subject no command is published on.',
  },
  MAX_DELIVERIES: {
    status: 500,
    title: 'Delivery attempts exhausted',
    description: 'A command could not be processed within its maximum deliveries.',
  },
  UNAVAILABLE: {
    status: 503,
    title: 'Unavailable',
    description: 'A dependency (PostgreSQL or NATS) cannot be reached; retry later.',
  },
  TIMEOUT: {
    status: 504,
    title: 'Timed out',
    description: 'A job or step ran past its timeout.',
  },
  CANCELLED: {
    status: 409,
    title: 'Cancelled',
    description: 'The job or step was cancelled.',
  },
  STEP_FAILED: {
    status: 500,
    title: 'Step failed',
    description: 'A step ended in failure; the job error names the step.',
  },
  WORKER_LOST: {
    status: 500,
    title: 'Worker lost',
    description: 'The worker running the job stopped heartbeating.',
  },
  INTERNAL: {
    status: 500,
    title: 'Internal error',
    description: 'An unexpected error; the request id in the answer finds it in the logs.',
  },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ErrorCatalog;
export const ERROR_CODES = Object.keys(ErrorCatalog) as ErrorCode[];

/** The HTTP status of an error code. The single place this mapping lives. */
export function httpStatusOf(code: ErrorCode): number {
  return ErrorCatalog[code].status;
}

/** One offending input: a path into the document (`steps.2.spec.argv`) and what is wrong. */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * An error with a stable code from the catalog. Services throw it; the edges (HTTP, NATS)
 * turn it into a problem+json answer or a dead letter.
 */
export class GantryError extends Error {
  override readonly name = 'GantryError';
  readonly code: ErrorCode;
  readonly issues: readonly FieldIssue[];

  constructor(
    code: ErrorCode,
    message: string = ErrorCatalog[code].title,
    options: { cause?: unknown; issues?: readonly FieldIssue[] } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.issues = options.issues ?? [];
  }

  /** The HTTP status for this error. */
  get status(): number {
    return httpStatusOf(this.code);
  }
}

/** True when `err` is a GantryError, optionally with one of `codes`. */
export function isGantryError(err: unknown, ...codes: ErrorCode[]): err is GantryError {
  return err instanceof GantryError && (codes.length === 0 || codes.includes(err.code));
}

/** The RFC 9457 problem document the API answers errors with. */
export interface Problem {
  readonly type: string;
  readonly title: string;
  readonly status: number;
  readonly detail: string;
  readonly code: ErrorCode;
  readonly instance?: string;
  readonly requestId?: string;
  readonly errors?: readonly FieldIssue[];
}

/** Base URI of the problem `type` links; each code's page is `${PROBLEM_TYPE_BASE}#<code>`. */
export const PROBLEM_TYPE_BASE = 'https://gantry.dev/problems';

/** Builds the problem document for an error. */
export function toProblem(err: GantryError, extra: { instance?: string; requestId?: string } = {}): Problem {
  return {
    type: `${PROBLEM_TYPE_BASE}#${err.code}`,
    title: ErrorCatalog[err.code].title,
    status: err.status,
    detail: err.message,
    code: err.code,
    ...(extra.instance === undefined ? {} : { instance: extra.instance }),
    ...(extra.requestId === undefined ? {} : { requestId: extra.requestId }),
    ...(err.issues.length === 0 ? {} : { errors: err.issues }),
  };
}
