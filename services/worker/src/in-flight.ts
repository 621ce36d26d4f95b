/**
 * The attempts this worker holds, by job id: what heartbeats list, what cancel signals and
 * the drain reach, and whose dispatch messages get in-progress acks. An attempt is listed from
 * the moment its dispatch is received, before its job is loaded; a signal that arrives before
 * the run exists is kept and delivered when it attaches.
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
  readonly #byJob = new Map<string, InFlightAttempt>();

  add(entry: InFlightAttempt): void {
    this.#byJob.set(entry.jobId, entry);
  }

  delete(entry: InFlightAttempt): void {
    if (this.#byJob.get(entry.jobId) === entry) this.#byJob.delete(entry.jobId);
  }

  get(jobId: string): InFlightAttempt | undefined {
    return this.#byJob.get(jobId);
  }

  get size(): number {
    return this.#byJob.size;
  }

  /** `{jobId, attempt}` of every held attempt, for heartbeats. */
  jobs(): { jobId: string; attempt: number }[] {
    return [...this.#byJob.values()].map((e) => ({ jobId: e.jobId, attempt: e.attempt }));
  }

  [Symbol.iterator](): IterableIterator<InFlightAttempt> {
    return this.#byJob.values();
  }
}
