/**
 * Why an attempt or a step was interrupted. The engine aborts a step's `AbortSignal` with an
 * {@link Interrupt} whose `kind` says what happened, so that whatever the handler throws
 * afterwards, the engine knows the cause:
 *
 * - `cancel`: a CancelSignal (reason `cancelled`) — the job ends CANCELLED after CLEANUP;
 * - `timeout`: a CancelSignal (reason `timeout`) or the attempt's own deadline — TIMEOUT, row 12;
 * - `step_timeout`: the step's own timeout — the step fails with TIMEOUT;
 * - `handback`: the worker drains — the attempt is handed back (row 14), CLEANUP does not run;
 * - `fenced`: a write was refused (a newer attempt holds the job) — the worker stops writing;
 * - `abandoned`: a write kept failing (PostgreSQL unreachable past WORKER_WRITE_RETRY_MS) — the
 *   attempt stops, CLEANUP included: nothing more it did could be recorded, and it is recovered.
 */

/** The cause of an interruption. */
export type InterruptKind = 'cancel' | 'timeout' | 'step_timeout' | 'handback' | 'fenced' | 'abandoned';

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

/**
 * Where interruptions come from: the attempt's (cancel, timeout, drain, fencing) and each
 * step's own (the attempt's, plus its step timeout). Cheaper than an AbortController per step
 * on the hot path of quick steps: listeners are plain callbacks, and the `AbortSignal` a handler
 * sees is made only when the handler asks for it.
 *
 * The first interruption wins; later ones are ignored.
 */
export class Interruption {
  #reason: Interrupt | undefined;
  #listeners: Set<(reason: Interrupt) => void> | undefined;
  #controller: AbortController | undefined;

  /** The interruption, once there is one. */
  get reason(): Interrupt | undefined {
    return this.#reason;
  }

  /** Its kind, once interrupted. */
  get kind(): InterruptKind | undefined {
    return this.#reason?.kind;
  }

  /** Interrupts, unless already interrupted: the signal aborts and the listeners run. */
  interrupt(reason: Interrupt): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners) for (const listener of listeners) listener(reason);
  }

  /** Calls `listener` once on interruption (at once if already interrupted); returns what removes it. */
  onInterrupt(listener: (reason: Interrupt) => void): () => void {
    if (this.#reason !== undefined) {
      listener(this.#reason);
      return () => {};
    }
    (this.#listeners ??= new Set()).add(listener);
    return () => void this.#listeners?.delete(listener);
  }

  /** An AbortSignal that aborts with the interruption; made on first use. */
  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }
}
