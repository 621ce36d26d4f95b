/**
 * The attempts this worker holds, by job id and attempt: what heartbeats list, what cancel
 * signals and the drain reach, and whose dispatch messages get in-progress acks. An attempt is
 * listed from the moment its dispatch is received, before its job is loaded; a signal that
 * arrives before the run exists is kept and delivered when it attaches.
 *
 * Two attempts of one job can be here at once: a stale dispatch of an earlier attempt
 * (redelivered after a freeze) beside the running later one, until its claim is refused, or an
 * attempt the scheduler has ended beside the next one dispatched here, until the first is
 * fenced. Each is listed, and reached, on its own.
 */
import type { DispatchMessage } from './dispatch/message.js';
import type { AttemptSignal } from './engine/job-runner.js';

/** One held attempt. */
export class InFlightAttempt {
  readonly #early: AttemptSignal[] = [];
  #target: ((kind: AttemptSignal) => void) | undefined;

  constructor(
    readonly jobId: string,
    readonly attempt: number,
    readonly msg: DispatchMessage,
  ) {}

  /** Delivers `kind` to the run, or keeps it until one attaches. */
  signal(kind: AttemptSignal): void {
    if (this.#target) this.#target(kind);
    else this.#early.push(kind);
  }

  /** Connects the run; signals received so far are delivered now. */
  attach(target: (kind: AttemptSignal) => void): void {
    this.#target = target;
    for (const kind of this.#early.splice(0)) target(kind);
  }
}

/** See the module doc. */
export class InFlight {
  /** By `<jobId>:<attempt>`. */
  readonly #byAttempt = new Map<string, InFlightAttempt>();

  add(entry: InFlightAttempt): void {
    this.#byAttempt.set(`${entry.jobId}:${entry.attempt}`, entry);
  }

  delete(entry: InFlightAttempt): void {
    const key = `${entry.jobId}:${entry.attempt}`;
    if (this.#byAttempt.get(key) === entry) this.#byAttempt.delete(key);
  }

  get(jobId: string, attempt: number): InFlightAttempt | undefined {
    return this.#byAttempt.get(`${jobId}:${attempt}`);
  }

  get size(): number {
    return this.#byAttempt.size;
  }

  /** `{jobId, attempt}` of every held attempt, for heartbeats. */
  jobs(): { jobId: string; attempt: number }[] {
    return [...this.#byAttempt.values()].map((e) => ({ jobId: e.jobId, attempt: e.attempt }));
  }

  [Symbol.iterator](): IterableIterator<InFlightAttempt> {
    return this.#byAttempt.values();
  }
}
