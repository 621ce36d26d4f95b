import { describe, expect, it } from 'vitest';
import { ErrorCatalog, GantryError, Limits } from '@gantry/contracts';
import { HttpGantryError, problemFor, toGantryError } from './problems.js';

const request = { id: 'req-1', url: '/runner-jobs?limit=5' };
const fastifyError = (code: string, statusCode: number, message = code) => Object.assign(new Error(message), { code, statusCode });

describe('toGantryError', () => {
  it.each([
    ['FST_ERR_CTP_BODY_TOO_LARGE', 413, 'PAYLOAD_TOO_LARGE'],
    ['FST_ERR_CTP_INVALID_MEDIA_TYPE', 415, 'UNSUPPORTED_MEDIA_TYPE'],
    ['FST_ERR_CTP_INVALID_JSON_BODY', 400, 'MALFORMED_JSON'],
    ['FST_ERR_CTP_EMPTY_JSON_BODY', 400, 'MALFORMED_JSON'],
    ['FST_ERR_CTP_INVALID_CONTENT_LENGTH', 400, 'VALIDATION_FAILED'],
    ['FST_ERR_SOMETHING_4XX', 400, 'VALIDATION_FAILED'],
    ['FST_ERR_SOMETHING_5XX', 500, 'INTERNAL'],
  ])('maps Fastify’s %s onto a catalog code', (code, status, expected) => {
    expect(toGantryError(fastifyError(code, status)).code).toBe(expected);
  });

  it('names the body limit', () => {
    expect(toGantryError(fastifyError('FST_ERR_CTP_BODY_TOO_LARGE', 413)).message).toContain(String(Limits.maxRequestBytes));
  });

  it('maps lost PostgreSQL connections to UNAVAILABLE, a value it cannot store to VALIDATION_FAILED, and anything else to INTERNAL, keeping the cause', () => {
    expect(toGantryError(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })).code).toBe('UNAVAILABLE');
    const value = Object.assign(new Error('invalid input syntax'), { code: '22P02', severity: 'ERROR' });
    expect(toGantryError(value)).toMatchObject({ code: 'VALIDATION_FAILED', cause: value });
    const db = Object.assign(new Error('boom'), { code: '42P01', severity: 'ERROR' });
    expect(toGantryError(db)).toMatchObject({ code: 'INTERNAL', cause: db });
    expect(toGantryError(new TypeError('bug')).code).toBe('INTERNAL');
    const own = new GantryError('NOT_FOUND');
    expect(toGantryError(own)).toBe(own);
  });
});

describe('problemFor', () => {
  it('builds an RFC 9457 document with the request id, the path and the field issues', () => {
    const err = new GantryError('VALIDATION_FAILED', 'bad', { issues: [{ path: 'steps.0.name', message: 'required' }] });
    expect(problemFor(err, request)).toEqual({
      problem: {
        type: 'https://gantry.dev/problems#VALIDATION_FAILED',
        title: ErrorCatalog.VALIDATION_FAILED.title,
        status: 400,
        detail: 'bad',
        code: 'VALIDATION_FAILED',
        instance: '/runner-jobs',
        requestId: 'req-1',
        errors: [{ path: 'steps.0.name', message: 'required' }],
      },
      headers: {},
    });
  });

  it('carries an error’s headers, and a Retry-After for UNAVAILABLE', () => {
    const limited = new HttpGantryError(new GantryError('RATE_LIMITED'), { 'retry-after': '3' });
    expect(problemFor(limited, request).headers).toEqual({ 'retry-after': '3' });
    expect(problemFor(limited, request).problem.status).toBe(429);
    expect(problemFor(new GantryError('UNAVAILABLE'), request).headers).toEqual({ 'retry-after': '1' });
  });

  it('never shows an internal error’s message', () => {
    const { problem } = problemFor(new Error('password=hunter2 at db.example'), request);
    expect(problem).toMatchObject({ status: 500, code: 'INTERNAL', detail: 'internal error' });
  });
});
