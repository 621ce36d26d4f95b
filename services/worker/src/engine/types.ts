/**
 * How an attempt ended on this worker:
 * - `COMPLETED`, `FAILED`, `CANCELLED`, `WAITING`: the job moved there (rows 6, 8, 9, 15);
 * - `RETRY`, `HANDED_BACK`: the job went back to QUEUED (rows 7/12, 14);
 * - `REFUSED`: the claim was refused (a stale or duplicate dispatch): nothing ran;
 * - `FENCED`: a later write was refused: someone else holds the job now;
 * - `UNCLAIMED`: the worker drained before claiming;
 * - `ABANDONED`: PostgreSQL stayed unreachable; the job is left to the scheduler's recovery.
 */
export type AttemptOutcome =
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELLED'
  | 'WAITING'
  | 'RETRY'
  | 'HANDED_BACK'
  | 'REFUSED'
  | 'FENCED'
  | 'UNCLAIMED'
  | 'ABANDONED';
