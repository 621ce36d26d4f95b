/**
 * Why an attempt or a step was interrupted. The engine aborts a step's `AbortSignal` with an
 * {@link Interrupt} whose `kind` says what happened, so that whatever the handler throws
 * afterwards, the engine knows the cause:
 *
 * - `cancel`: a CancelSignal (reason `cancelled`) — the job ends CANCELLED after CLEANUP;
 * - `timeout`: a CancelSignal (reason `timeout`) or the attempt's own deadline — TIMEOUT, row 12;
 * - `step_timeout`: the step's own timeout — the step fails with TIMEOUT;
 * - `handback`: the worker drains — the attempt is handed back (row 14), CLEANUP does not run;
 * - `fenced`: a write was refused (a newer attempt holds the job) — the worker stops writing.
 */

/** The cause of an interruption. */
export type InterruptKind = 'cancel' | 'timeout' | 'step_timeout' | 'handback' | 'fenced';

/** The abort reason of an interrupted step or attempt. */
export class Interrupt extends Error {
  override name = 'Interrupt';
  constructor(readonly kind: InterruptKind) {
    super(`step interrupted: ${kind}`);
  }
}

/** The interruption `signal` was aborted with, if any. */
export function interruptOf(signal: AbortSignal): InterruptKind | undefined {
  if (!signal.aborted) return undefined;
  return signal.reason instanceof Interrupt ? signal.reason.kind : 'cancel';
}
