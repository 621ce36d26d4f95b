/**
 * Driver errors become contract errors at the store's edge, so services never match on
 * PostgreSQL's SQLSTATEs themselves.
 */
import { GantryError } from '@gantry/contracts';

/** SQLSTATE classes and codes the store translates. */
const SQLSTATE = {
  uniqueViolation: '23505',
  foreignKeyViolation: '23503',
  checkViolation: '23514',
  insufficientPrivilege: '42501',
  connectionClass: '08',
  /** Data exceptions: a value PostgreSQL cannot take (a NUL in text, a year 0, an out-of-range number). */
  dataExceptionClass: '22',
  cannotConnectNow: '57P03',
  adminShutdown: '57P01',
  crashShutdown: '57P02',
  tooManyConnections: '53300',
  lockNotAvailable: '55P03',
  /** A write on a server that takes none: a standby, or a primary being demoted in a failover. */
  readOnlyTransaction: '25006',
} as const;

/** Socket errors of a connection that failed or went away. */
const NETWORK_ERRORS = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/**
 * SQLSTATEs of a statement that failed for the moment, not for what it says: a serialization
 * failure or a deadlock (class 40), a lock not available, a statement cancelled or timed out.
 * The same statement may well succeed when tried again.
 */
const TRANSIENT = new Set(['40001', '40P01', SQLSTATE.lockNotAvailable, '57014']);

/**
 * True for errors that mean PostgreSQL could not be reached, went away, or is no longer the
 * primary (a write refused as read-only): in each case the connection is worth nothing and a new
 * one (which may reach the new primary) is the way on.
 */
export function isConnectionError(err: unknown): boolean {
  // Also asked of an error's `cause`, which is often absent.
  if (err === null || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    return (
      code.startsWith(SQLSTATE.connectionClass) ||
      code === SQLSTATE.cannotConnectNow ||
      code === SQLSTATE.adminShutdown ||
      code === SQLSTATE.crashShutdown ||
      code === SQLSTATE.tooManyConnections ||
      code === SQLSTATE.readOnlyTransaction ||
      NETWORK_ERRORS.has(code)
    );
  }
  // `Query read timeout`: no answer within the pool's `queryTimeoutMs`; the connection's state is unknown.
  return err instanceof Error && /Connection terminated|timeout exceeded when trying to connect|has encountered a connection error and is not queryable|Query read timeout/i.test(err.message);
}

/** True for errors after which the same statement may succeed if tried again: a lost connection, a deadlock, a lock or statement timeout. */
export function isTransientError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return isConnectionError(err) || (typeof code === 'string' && TRANSIENT.has(code));
}

/** True when a statement gave up waiting for a lock (`lock_timeout`, or `NOWAIT`). */
export function isLockNotAvailable(err: unknown): boolean {
  return (err as { code?: unknown }).code === SQLSTATE.lockNotAvailable;
}

/** True when `err` is a unique-constraint violation (optionally on the named constraint). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  return e.code === SQLSTATE.uniqueViolation && (constraint === undefined || e.constraint === constraint);
}

/** Maps a driver error onto a GantryError; GantryErrors pass through unchanged. */
export function translateDbError(err: unknown): GantryError {
  if (err instanceof GantryError) return err;
  if ((err as { code?: unknown }).code === SQLSTATE.readOnlyTransaction) {
    return new GantryError('UNAVAILABLE', 'PostgreSQL takes no writes (a standby, or a failover in progress); try again', { cause: err });
  }
  if (isConnectionError(err)) {
    return new GantryError('UNAVAILABLE', 'PostgreSQL is unavailable', { cause: err });
  }
  if (isTransientError(err)) {
    return new GantryError('UNAVAILABLE', 'PostgreSQL could not complete the statement now (a deadlock, a lock or a timeout); try again', { cause: err });
  }
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith(SQLSTATE.dataExceptionClass)) {
    const detail = (err as { message?: unknown }).message;
    return new GantryError('VALIDATION_FAILED', `a value PostgreSQL cannot store${typeof detail === 'string' ? `: ${detail}` : ''}`, { cause: err });
  }
  if (code === SQLSTATE.foreignKeyViolation) {
    return new GantryError('NOT_FOUND', 'a referenced row does not exist', { cause: err });
  }
  if (code === SQLSTATE.checkViolation) {
    return new GantryError('VALIDATION_FAILED', 'a value breaks a database rule', { cause: err });
  }
  return new GantryError('INTERNAL', 'database error', { cause: err });
}
