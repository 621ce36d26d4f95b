/**
 * The event streams a process serves, so it can count them against its limit and end them all
 * when it stops (a server does not finish closing while a stream is open).
 */

/** One open stream: aborting its controller ends it; `done` settles when it has cleaned up. */
interface OpenStream {
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

/** The open streams of a process. */
export interface StreamRegistry {
  /** Streams open now. */
  readonly size: number;
  /** Registers a stream until `done` settles. */
  add(abort: AbortController, done: Promise<void>): void;
  /** Ends every stream and resolves once each has cleaned up (its NATS consumer deleted). */
  closeAll(): Promise<void>;
}

/** An empty registry. */
export function createStreamRegistry(): StreamRegistry {
  const open = new Set<OpenStream>();
  return {
    get size() {
      return open.size;
    },
    add(abort, done) {
      const entry = { abort, done };
      open.add(entry);
      void done.finally(() => open.delete(entry));
    },
    async closeAll() {
      const all = [...open];
      for (const s of all) s.abort.abort();
      await Promise.allSettled(all.map((s) => s.done));
    },
  };
}
