import { describe, expect, it } from 'vitest';
import { isConnectionError, isTransientError, translateDbError } from './errors.js';

const pgError = (code: string, message = 'boom') => Object.assign(new Error(message), { code, severity: 'ERROR' });

describe('translateDbError', () => {
  it('answers UNAVAILABLE (try again) for a lost connection and for a statement that failed for the moment', () => {
    for (const err of [pgError('08006'), pgError('57P02'), pgError('53300'), pgError('25006'), Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })]) {
      expect(isConnectionError(err)).toBe(true);
      expect(translateDbError(err).code).toBe('UNAVAILABLE');
    }
    for (const code of ['40001', '40P01', '55P03', '57014']) {
      expect(isConnectionError(pgError(code))).toBe(false);
      expect(isTransientError(pgError(code))).toBe(true);
      expect(translateDbError(pgError(code)).code).toBe('UNAVAILABLE');
    }
  });

  it('takes an absent cause, or a thrown non-object, for no connection error', () => {
    for (const value of [undefined, null, 'Connection terminated', 42]) expect(isConnectionError(value)).toBe(false);
  });

  it('says why a write was refused as read-only', () => {
    expect(translateDbError(pgError('25006')).message).toMatch(/takes no writes \(a standby, or a failover in progress\)/);
  });

  it('answers VALIDATION_FAILED for a value PostgreSQL cannot store, and INTERNAL for the rest', () => {
    const nul = translateDbError(pgError('22P05', 'unsupported Unicode escape sequence'));
    expect(nul.code).toBe('VALIDATION_FAILED');
    expect(nul.message).toMatch(/cannot store: unsupported Unicode escape sequence/);
    expect(translateDbError(pgError('22008')).code).toBe('VALIDATION_FAILED');
    expect(translateDbError(pgError('42P01')).code).toBe('INTERNAL');
    expect(isTransientError(pgError('23505'))).toBe(false);
  });
});
