/**
 * Every error the API answers is an RFC 9457 problem document (`application/problem+json`)
 * with a code from the contracts' catalog. This module is the one place an error becomes an
 * answer: GantryErrors pass through, Fastify's own errors (body too large, bad JSON, wrong
 * media type) and driver errors are mapped to catalog codes, anything else is INTERNAL.
 */
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { GantryError, Limits, toProblem, type Problem } from '@gantry/contracts';
import { isConnectionError, translateDbError } from '@gantry/store';

/** The media type of every error answer. */
export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

/** Seconds a client should wait before retrying when a dependency is unavailable. */
const UNAVAILABLE_RETRY_AFTER_SECONDS = 1;

/** Extra headers an error carries onto its answer (Retry-After, WWW-Authenticate). */
export class HttpGantryError extends GantryError {
  readonly headers: Readonly<Record<string, string>>;

  constructor(error: GantryError, headers: Readonly<Record<string, string>>) {
    super(error.code, error.message, { cause: error.cause, issues: error.issues });
    this.headers = headers;
  }
}

function fastifyCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && code.startsWith('FST_') ? code : undefined;
}

/** Maps any thrown value onto a GantryError with a catalog code. */
export function toGantryError(err: unknown): GantryError {
  if (err instanceof GantryError) return err;
  switch (fastifyCode(err)) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new GantryError(
        'PAYLOAD_TOO_LARGE',
        `the request body is larger than ${Limits.maxRequestBytes} bytes (maxRequestBytes)`,
      );
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new GantryError('UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new GantryError('MALFORMED_JSON', 'the body is not valid JSON');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new GantryError('VALIDATION_FAILED', 'the body size does not match Content-Length');
    case undefined:
      break;
    default: {
      const status = (err as FastifyError).statusCode ?? 500;
      if (status >= 400 && status < 500) return new GantryError('VALIDATION_FAILED', (err as Error).message);
      return new GantryError('INTERNAL', 'internal error', { cause: err });
    }
  }
  if (isConnectionError(err) || typeof (err as { severity?: unknown }).severity === 'string') {
    return translateDbError(err);
  }
  return new GantryError('INTERNAL', 'internal error', { cause: err });
}

/** The problem document and headers for `err` answering `request`. */
export function problemFor(err: unknown, request: Pick<FastifyRequest, 'id' | 'url'>): {
  problem: Problem;
  headers: Record<string, string>;
} {
  const error = toGantryError(err);
  const headers: Record<string, string> = { ...(error instanceof HttpGantryError ? error.headers : {}) };
  if (error.code === 'UNAVAILABLE' && headers['retry-after'] === undefined) {
    headers['retry-after'] = String(UNAVAILABLE_RETRY_AFTER_SECONDS);
  }
  const instance = request.url.split('?')[0];
  return { problem: toProblem(error, { instance, requestId: String(request.id) }), headers };
}

/** Fastify's error handler: answers the problem and logs server-side failures. */
export function sendProblem(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const { problem, headers } = problemFor(err, request);
  if (problem.status >= 500) request.log.error({ err }, 'request failed');
  reply.code(problem.status).headers(headers).type(PROBLEM_CONTENT_TYPE);
  return reply.send(JSON.stringify(problem));
}
