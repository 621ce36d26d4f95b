/**
 * The event streams a process serves, so it can count them against its limits and end them all
 * when it stops (a server does not finish closing while a stream is open). Each stream belongs
 * to a workspace, and a workspace may hold only its share of the places: one tenant's reader
 * cannot take every place and leave the others none.
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

/** Why no place was given: every place is taken, or the workspace holds its share. */
export type NoPlace = 'full' | 'workspace-full';

/** The limits a place is taken under. */
export interface StreamLimits {
  /** Places in all. */
  readonly total: number;
  /** Places one workspace may hold. */
  readonly perWorkspace: number;
}

/** The open streams of a process. */
export interface StreamRegistry {
  /** Places taken now: streams open and streams being set up. */
  readonly size: number;
  /** Places taken now by `workspaceId`'s streams. */
  sizeOf(workspaceId: string): number;
  /** Takes a place for a stream of `workspaceId` within `limits`; the reason when none is given. */
  reserve(workspaceId: string, limits: StreamLimits): StreamSlot | NoPlace;
  /** Ends every stream and resolves once each has cleaned up (its NATS consumer deleted); one that starts later is ended at once. */
  closeAll(): Promise<void>;
}

/** An empty registry. */
export function createStreamRegistry(): StreamRegistry {
  const open = new Set<OpenStream>();
  /** Places taken (open or being set up) by workspace. */
  const taken = new Map<string, number>();
  let reserved = 0;
  let closing = false;
  const give = (workspaceId: string, n: number) => {
    const now = (taken.get(workspaceId) ?? 0) + n;
    if (now === 0) taken.delete(workspaceId);
    else taken.set(workspaceId, now);
  };
  return {
    get size() {
      return open.size + reserved;
    },
    sizeOf(workspaceId) {
      return taken.get(workspaceId) ?? 0;
    },
    reserve(workspaceId, limits) {
      if (open.size + reserved >= limits.total) return 'full';
      if ((taken.get(workspaceId) ?? 0) >= limits.perWorkspace) return 'workspace-full';
      reserved += 1;
      give(workspaceId, 1);
      let held = true;
      const free = () => {
        if (!held) return;
        held = false;
        reserved -= 1;
        give(workspaceId, -1);
      };
      return {
        start(abort, done) {
          if (!held) return;
          held = false;
          reserved -= 1;
          const entry = { abort, done };
          open.add(entry);
          void done.finally(() => {
            open.delete(entry);
            give(workspaceId, -1);
          });
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
