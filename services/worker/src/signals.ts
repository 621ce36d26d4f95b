/**
 * What a worker reports as it goes, for tests to await instead of sleeping (and for anyone who
 * wants to observe a worker in-process). Emitting costs nothing when nobody listens.
 */
import type { AttemptOutcome } from './engine/types.js';

/** The worker's signals and their values. */
export interface WorkerSignalMap {
  /** A dispatch was dropped without running anything: stale (its claim was refused: the job moved on), a duplicate delivery, or invalid. */
  dispatchDropped: { jobId?: string; attempt?: number; reason: 'stale' | 'duplicate' | 'invalid' };
  /** An attempt ended and its dispatch was settled (acked after the commit, or nak'd). */
  attemptEnded: { jobId: string; attempt: number; outcome: AttemptOutcome };
}

type Listener<T> = (value: T) => void;

/** A small typed emitter; see the module doc. */
export class WorkerSignals {
  readonly #listeners = new Map<keyof WorkerSignalMap, Set<Listener<never>>>();

  /** Calls `listener` on every `name` signal; returns the function that stops it. */
  on<K extends keyof WorkerSignalMap>(name: K, listener: Listener<WorkerSignalMap[K]>): () => void {
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  /** Resolves with the next `name` signal that `match` accepts; rejects after `timeoutMs`. */
  next<K extends keyof WorkerSignalMap>(
    name: K,
    match: (value: WorkerSignalMap[K]) => boolean = () => true,
    timeoutMs = 30_000,
  ): Promise<WorkerSignalMap[K]> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no ${name} signal within ${timeoutMs} ms`));
      }, timeoutMs);
      const off = this.on(name, (value) => {
        if (!match(value)) return;
        clearTimeout(timer);
        off();
        resolve(value);
      });
    });
  }

  emit<K extends keyof WorkerSignalMap>(name: K, value: WorkerSignalMap[K]): void {
    const set = this.#listeners.get(name);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) (listener as Listener<WorkerSignalMap[K]>)(value);
  }
}
