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
  cannotConnectNow: '57P03',
  adminShutdown: '57P01',
} as const;

/** True for errors that mean PostgreSQL could not be reached or went away. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string') {
    return (
      code.startsWith(SQLSTATE.connectionClass) ||
      code === SQLSTATE.cannotConnectNow ||
      code === SQLSTATE.adminShutdown ||
      code === 'ECONNREFUSED' ||
      code === 'ECONNRESET' ||
      code === 'ETIMEDOUT'
    );
  }
  return err instanceof Error && /Connection terminated|timeout exceeded when trying to connect/i.test(err.message);
}

/** True when `err` is a unique-constraint violation (optionally on the named constraint). */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  const e = err as { code?: unknown; constraint?: unknown };
  return e.code === SQLSTATE.uniqueViolation && (constraint === undefined || e.constraint === constraint);
}

/** Maps a driver error onto a GantryError; GantryErrors pass through unchanged. */
export function translateDbError(err: unknown): GantryError {
  if (err instanceof GantryError) return err;
  if (isConnectionError(err)) {
    return new GantryError('UNAVAILABLE', 'PostgreSQL is unavailable', { cause: err });
  }
  const code = (err as { code?: unknown }).code;
  if (code === SQLSTATE.foreignKeyViolation) {
    return new GantryError('NOT_FOUND', 'a referenced row does not exist', { cause: err });
  }
  if (code === SQLSTATE.checkViolation) {
    return new GantryError('VALIDATION_FAILED', 'a value breaks a database rule', { cause: err });
  }
  return new GantryError('INTERNAL', 'database error', { cause: err });
}
