/**
 * Following a job to its end, shared by `watch`, `submit --watch` and `logs --follow`: read
 * the job (its steps name the events), stream its events from a sequence (reconnecting with
 * Last-Event-ID), show each one, and answer the exit code of how the job ended: 0 COMPLETED,
 * 1 FAILED or CANCELLED. Ctrl-C (SIGINT) stops following and leaves the job alone.
 */
import { TERMINAL_EVENT_TYPES, type JobEvent } from '@gantry/contracts';
import { jobPath, type ApiClient } from './api/client.js';
import { jobEvents } from './api/event-stream.js';
import type { JobView } from './api/views.js';
import { EXIT } from './exit.js';
import type { CliIo } from './io.js';
import { createWatchView, type WatchView } from './render/watch-view.js';

/** How events are shown: the live view (`watch`), or JSON lines. */
export type FollowMode = 'view' | 'json';

/** Options of {@link followJob}. */
export interface FollowOptions {
  readonly mode: FollowMode;
  /** Show events after this sequence; default 0 (from the start). */
  readonly after?: number;
  /** The job, when the caller has read it already. */
  readonly job?: JobView;
  /** Redraw in place (a terminal); default `io.isTTY`. */
  readonly tty?: boolean;
}

const TERMINAL: readonly string[] = TERMINAL_EVENT_TYPES;

/** The exit code of a job that ended in `status`. */
export function exitCodeOfJob(status: string): number {
  return status === 'COMPLETED' ? EXIT.ok : EXIT.failed;
}

/** Follows job `id` until it ends; resolves with the exit code of its outcome. */
export async function followJob(client: ApiClient, id: string, io: CliIo, opts: FollowOptions): Promise<number> {
  const job = opts.job ?? (await client.get<JobView>(jobPath(id)));
  const view: WatchView =
    opts.mode === 'json' ? { apply: (e: JobEvent) => io.out(JSON.stringify(e)), finish: () => undefined } : createWatchView(job, io, opts.tty ?? io.isTTY === true);
  const stop = new AbortController();
  const onSigint = () => stop.abort();
  process.once('SIGINT', onSigint);
  let last: string | undefined;
  try {
    const events = jobEvents({
      client,
      jobId: job.id,
      after: opts.after ?? 0,
      signal: stop.signal,
      onReconnect: (reason, seq) => io.err(`connection lost (${reason}); resuming after event ${seq}`),
    });
    for await (const event of events) {
      view.apply(event);
      last = event.type;
    }
  } finally {
    view.finish();
    process.off('SIGINT', onSigint);
  }
  if (stop.signal.aborted) {
    // Not 0, which says the job COMPLETED: `gantry submit --watch && deploy` must not go on.
    io.err(`stopped following job ${job.id}; it goes on (gantry watch ${job.id})`);
    return EXIT.interrupted;
  }
  const status = last !== undefined && TERMINAL.includes(last) ? last.slice('job.'.length).toUpperCase() : (await client.get<JobView>(jobPath(job.id))).status;
  if (opts.mode === 'view') io.err(`job ${job.id} ${status}`);
  return exitCodeOfJob(status);
}
