/**
 * The event streams a process serves, so it can count them against its limit and end them all
 * when it stops (a server does not finish closing while a stream is open).
 *
 * A stream takes its place before it is set up (its consumer made, its backlog read), and keeps
 * it until it has cleaned up: requests that arrive together at the limit cannot all pass the
 * check while none of them is counted yet.
 */

/** One open stream: aborting its controller ends it; `done` settles when it has cleaned up. */
interface OpenStream {
  readonly abort: AbortController;
  readonly done: Promise<void>;
}

/** A place among a process's streams, taken before the stream is set up. */
export interface StreamSlot {
  /** The stream runs: aborting `abort` ends it; the place is freed when `done` settles. */
  start(abort: AbortController, done: Promise<void>): void;
  /** Frees the place of a stream that never started. Idempotent; a no-op after `start`. */
  release(): void;
}

/** The open streams of a process. */
export interface StreamRegistry {
  /** Places taken now: streams open and streams being set up. */
  readonly size: number;
  /** Takes a place when fewer than `limit` are taken; undefined when none is left. */
  reserve(limit: number): StreamSlot | undefined;
  /** Ends every stream and resolves once each has cleaned up (its NATS consumer deleted); one that starts later is ended at once. */
  closeAll(): Promise<void>;
}

/** An empty registry. */
export function createStreamRegistry(): StreamRegistry {
  const open = new Set<OpenStream>();
  let reserved = 0;
  let closing = false;
  return {
    get size() {
      return open.size + reserved;
    },
    reserve(limit) {
      if (open.size + reserved >= limit) return undefined;
      reserved += 1;
      let held = true;
      const free = () => {
        if (!held) return;
        held = false;
        reserved -= 1;
      };
      return {
        start(abort, done) {
          if (!held) return;
          free();
          const entry = { abort, done };
          open.add(entry);
          void done.finally(() => open.delete(entry));
          if (closing) abort.abort();
        },
        release: free,
      };
    },
    async closeAll() {
      closing = true;
      const all = [...open];
      for (const s of all) s.abort.abort();
      await Promise.allSettled(all.map((s) => s.done));
    },
  };
}
