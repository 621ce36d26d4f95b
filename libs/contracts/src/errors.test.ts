import { describe, expect, it } from 'vitest';
import {
  ERROR_CODES,
  type ErrorCode,
  ErrorCatalog,
  GantryError,
  PROBLEM_TYPE_BASE,
  httpStatusOf,
  isGantryError,
  toProblem,
} from './errors.js';

describe('error catalog', () => {
  it('lists every code once, in upper snake case', () => {
    expect(ERROR_CODES).toEqual(Object.keys(ErrorCatalog));
    expect(new Set(ERROR_CODES).size).toBe(ERROR_CODES.length);
    for (const code of ERROR_CODES) expect(code).toMatch(/^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$/);
  });

  it.each(ERROR_CODES)('%s has a 4xx/5xx status, a title and a description', (code) => {
    const info = ErrorCatalog[code];
    expect(Number.isInteger(info.status)).toBe(true);
    expect(info.status).toBeGreaterThanOrEqual(400);
    expect(info.status).toBeLessThanOrEqual(599);
    expect(info.title.trim()).not.toBe('');
    expect(info.title).not.toMatch(/\.$/);
    expect(info.description).toMatch(/^\S.*\.$/);
    expect(httpStatusOf(code)).toBe(info.status);
    expect(new GantryError(code).status).toBe(info.status);
  });

  it.each<[ErrorCode, number]>([
    ['VALIDATION_FAILED', 400],
    ['MALFORMED_JSON', 400],
    ['LIMIT_EXCEEDED', 400],
    ['UNSUPPORTED_VERSION', 400],
    ['UNAUTHENTICATED', 401],
    ['FORBIDDEN', 403],
    ['NOT_FOUND', 404],
    ['INVALID_TRANSITION', 409],
    ['STALE_ATTEMPT', 409],
    ['IDEMPOTENCY_CONFLICT', 409],
    ['PAYLOAD_TOO_LARGE', 413],
    ['UNSUPPORTED_MEDIA_TYPE', 415],
    ['RATE_LIMITED', 429],
    ['INTERNAL', 500],
    ['UNAVAILABLE', 503],
    ['TIMEOUT', 504],
  ])('maps %s to HTTP %i', (code, status) => {
    expect(httpStatusOf(code)).toBe(status);
  });

  it('gives every code a distinct title', () => {
    const titles = ERROR_CODES.map((c) => ErrorCatalog[c].title);
    expect(new Set(titles).size).toBe(titles.length);
  });
});

describe('GantryError', () => {
  it('carries its code, the catalog title as default message, issues and cause', () => {
    const cause = new Error('socket closed');
    const err = new GantryError('UNAVAILABLE', undefined, { cause, issues: [{ path: 'a', message: 'b' }] });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('GantryError');
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.message).toBe('Unavailable');
    expect(err.cause).toBe(cause);
    expect(err.issues).toEqual([{ path: 'a', message: 'b' }]);
    expect(new GantryError('INTERNAL', 'boom').issues).toEqual([]);
    expect('cause' in new GantryError('INTERNAL', 'boom')).toBe(false);
  });

  it('is recognised by isGantryError, optionally by code', () => {
    const err = new GantryError('NOT_FOUND', 'no such job');
    expect(isGantryError(err)).toBe(true);
    expect(isGantryError(err, 'NOT_FOUND', 'FORBIDDEN')).toBe(true);
    expect(isGantryError(err, 'FORBIDDEN')).toBe(false);
    expect(isGantryError(new Error('x'))).toBe(false);
    expect(isGantryError({ code: 'NOT_FOUND' })).toBe(false);
  });
});

describe('toProblem (RFC 9457)', () => {
  it('builds the members of a problem document', () => {
    const problem = toProblem(new GantryError('NOT_FOUND', 'job 42 is not in this workspace'));
    expect(problem).toEqual({
      type: 'https://gantry.dev/problems#NOT_FOUND',
      title: 'Not found',
      status: 404,
      detail: 'job 42 is not in this workspace',
      code: 'NOT_FOUND',
    });
  });

  it.each(ERROR_CODES)('gives %s an absolute type URI, the catalog title and the HTTP status', (code) => {
    const problem = toProblem(new GantryError(code, 'occurrence-specific detail'));
    expect(problem.type).toBe(`${PROBLEM_TYPE_BASE}#${code}`);
    expect(new URL(problem.type).protocol).toBe('https:');
    expect(problem.title).toBe(ErrorCatalog[code].title);
    expect(problem.status).toBe(ErrorCatalog[code].status);
    expect(problem.detail).toBe('occurrence-specific detail');
  });

  it('adds instance, requestId and field errors only when there are some', () => {
    const issues = [{ path: 'steps.0.name', message: 'Too small' }];
    const problem = toProblem(new GantryError('VALIDATION_FAILED', 'invalid job', { issues }), {
      instance: '/runner-jobs',
      requestId: 'req-1',
    });
    expect(problem.instance).toBe('/runner-jobs');
    expect(problem.requestId).toBe('req-1');
    expect(problem.errors).toEqual(issues);
    expect(Object.keys(toProblem(new GantryError('INTERNAL')))).toEqual(['type', 'title', 'status', 'detail', 'code']);
  });

  it('survives a JSON round trip unchanged', () => {
    const problem = toProblem(new GantryError('LIMIT_EXCEEDED', 'too many steps', { issues: [{ path: 'steps', message: 'x' }] }), {
      requestId: 'r',
    });
    expect(JSON.parse(JSON.stringify(problem))).toEqual(problem);
  });
});
