/**
 * `GET /runner-jobs/:id/events/stream`: a job's events as Server-Sent Events, from a sequence on
 * (`Last-Event-ID`, or `?after=`), with no gap and no duplicate.
 *
 * 1. The live consumer is created first (delivering only what is published from then on), then
 *    the backlog is read from PostgreSQL. An event committed before the read is in the backlog;
 *    one committed after it is published after the consumer existed, so it arrives live. Live
 *    events at or below the last sequence sent are dropped; a live event beyond the next one
 *    means NATS lost a message, and the missing ones are read from PostgreSQL first.
 * 2. Every keep-alive interval (and every second when no consumer could be created) the stream
 *    also reads PostgreSQL for events NATS did not deliver, so a lost last message cannot stall it.
 *    A stream without a consumer (none could be made, or it gave up) tries to make one again
 *    after a backoff (a second, doubling to {@link REATTACH_MAX_MS}), reading PostgreSQL every
 *    second meanwhile; once made, it reads PostgreSQL at once: what committed while it had none
 *    is in that read, what commits after arrives live, as in 1.
 * 3. After sending a terminal event (`job.completed|failed|cancelled` with nothing after it) the
 *    stream ends. A client resuming after the terminal event of a finished job gets 204, which
 *    tells an EventSource to stop reconnecting.
 * 4. A client that takes no data for two keep-alive intervals is dropped (`write`).
 * 5. The request's token is verified again every keep-alive interval (through the
 *    authenticator's cache, so within `AUTH_CACHE_MS` of a revocation or expiry): a token no
 *    longer valid ends the stream, and its reconnect is refused.
 */
import type { ServerResponse } from 'node:http';
import { GantryError, HttpHeaders, isGantryError, isTerminalJobStatus, Limits, TERMINAL_EVENT_TYPES, type JobEvent } from '@gantry/contracts';
import type { Answer, RouteContext } from '../http/route.js';
import { HttpGantryError } from '../problems.js';
import { logRequest, markStreamed } from '../http/observe.js';
import { eventsAfter, getJobRow, lastSequence } from '../jobs/read.js';
import { tenantRead } from '../jobs/tenant.js';
import type { ApiDeps } from '../deps.js';
import { EVENT_STREAM_CONTENT_TYPE, eventMessage, KEEPALIVE, parseLastEventId, retryField } from './format.js';
import { openLiveEvents, type LiveEvents } from './live-events.js';
import type { StreamSlot } from './registry.js';

/** How often a stream without a live consumer reads PostgreSQL, at most. */
const FALLBACK_POLL_MS = 1_000;
/** The longest wait between a consumer-less stream's attempts to make one. */
export const REATTACH_MAX_MS = 30_000;
const TERMINAL: readonly string[] = TERMINAL_EVENT_TYPES;

interface Session {
  readonly deps: ApiDeps;
  readonly res: ServerResponse;
  readonly jobId: string;
  /** The caller's workspace: every read of the stream runs under it (`jobs/tenant.ts`). */
  readonly workspaceId: string;
  /** The live consumer; null while none could be made. */
  live: LiveEvents | null;
  /** Opens a live consumer for the job. */
  readonly openLive: () => Promise<LiveEvents>;
  /** An attempt under way to make a live consumer; the stream keeps reading PostgreSQL meanwhile. */
  attaching: Attach | undefined;
  /** When a stream without a live consumer may try to make one again, and the current backoff. */
  reattachAt: number;
  reattachDelayMs: number;
  readonly signal: AbortSignal;
  cursor: number;
  lastType: string | undefined;
  sent: number;
  lastWriteAt: number;
  /** Whether the request's token is still valid (verified again at most every keep-alive interval). */
  readonly stillAuthorized: () => Promise<boolean>;
  lastAuthorizedAt: number;
}

/** Waits `ms` or until `wake` settles or `signal` aborts, clearing its timer either way. */
async function wait(ms: number, signal: AbortSignal, wake?: Promise<void>): Promise<void> {
  if (signal.aborted) return;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  await Promise.race([
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
      onAbort = resolve;
      signal.addEventListener('abort', onAbort, { once: true });
    }),
    ...(wake ? [wake] : []),
  ]);
  clearTimeout(timer);
  if (onAbort) signal.removeEventListener('abort', onAbort);
}

/**
 * Writes `chunk`, waiting for the client to take what is buffered. A client that takes nothing
 * for two keep-alive intervals is dropped (it resumes from its last event when it reconnects):
 * the stream would otherwise hold its place, its consumer and what it buffers until TCP gives up.
 */
async function write(s: Session, chunk: string): Promise<void> {
  if (s.signal.aborted) return;
  s.lastWriteAt = Date.now();
  if (s.res.write(chunk)) return;
  await new Promise<void>((resolve) => {
    const stalled = setTimeout(() => s.res.destroy(), 2 * s.deps.settings.sseKeepaliveMs);
    const done = () => {
      clearTimeout(stalled);
      s.res.off('drain', done);
      s.signal.removeEventListener('abort', done);
      resolve();
    };
    s.res.on('drain', done);
    s.signal.addEventListener('abort', done, { once: true });
  });
}

async function emit(s: Session, event: JobEvent): Promise<void> {
  await write(s, eventMessage(event));
  s.cursor = event.sequence;
  s.lastType = event.type;
  s.sent += 1;
}

/** Sends every committed event after the cursor, page by page. */
async function catchUp(s: Session): Promise<void> {
  for (;;) {
    const page = await tenantRead(s.deps.pool, s.workspaceId, (db) => eventsAfter(db, s.jobId, s.cursor, Limits.maxPageSize));
    for (const event of page.items) await emit(s, event);
    if (page.nextAfter === null || s.signal.aborted) return;
  }
}

/** Sends live events in order, filling gaps from PostgreSQL and dropping repeats. */
async function sendLive(s: Session, events: readonly JobEvent[]): Promise<void> {
  for (const event of [...events].sort((a, b) => a.sequence - b.sequence)) {
    if (event.sequence > s.cursor + 1) await catchUp(s);
    // Still ahead: PostgreSQL has not shown it yet; the next catch-up sends it in order.
    if (event.sequence !== s.cursor + 1) continue;
    await emit(s, event);
  }
}

const finished = (s: Session) => s.lastType !== undefined && TERMINAL.includes(s.lastType);

/** An attempt to make a live consumer: `made` is undefined until it settles, null if it failed. */
interface Attach {
  made: LiveEvents | null | undefined;
  settled: Promise<void>;
}

/**
 * Makes the session's live consumer again when it has none and its backoff is over. The attempt
 * runs beside the stream's reads of PostgreSQL (asking a NATS that is down waits for the request
 * timeout); a later call takes its outcome. Returns whether a consumer was just made: the caller
 * then reads PostgreSQL for what committed without one.
 */
function reattach(s: Session): boolean {
  const attempt = s.attaching;
  if (attempt !== undefined) {
    if (attempt.made === undefined) return false;
    s.attaching = undefined;
    s.live = attempt.made;
    s.reattachDelayMs = s.live ? pollMs(s.deps.settings) : Math.min(2 * s.reattachDelayMs, REATTACH_MAX_MS);
    // Jittered, so that the streams of a process that lost NATS do not all ask it at once.
    s.reattachAt = Date.now() + s.reattachDelayMs * (0.5 + Math.random() / 2);
    return s.live !== null;
  }
  if ((s.live && !s.live.ended) || Date.now() < s.reattachAt) return false;
  const ended = s.live;
  s.live = null;
  const next: Attach = { made: undefined, settled: Promise.resolve() };
  next.settled = (async () => {
    await ended?.close();
    next.made = await s.openLive().catch(() => null);
  })();
  s.attaching = next;
  return false;
}

/** Closes the session's live consumer, and one an attempt under way makes. */
async function closeLive(s: Session): Promise<void> {
  await s.live?.close();
  await s.attaching?.settled;
  await s.attaching?.made?.close();
}

/** How often a stream without a live consumer reads PostgreSQL, and its first wait before it tries to make one. */
const pollMs = (settings: ApiDeps['settings']) => Math.min(FALLBACK_POLL_MS, settings.sseKeepaliveMs);

async function pump(s: Session, first: readonly JobEvent[]): Promise<string> {
  const { sseKeepaliveMs } = s.deps.settings;
  for (const event of first) await emit(s, event);
  await catchUp(s);
  while (!s.signal.aborted && !finished(s)) {
    // A token revoked or expired while its stream is open ends the stream, as it would any
    // other request within AUTH_CACHE_MS; a reconnect is then refused.
    if (Date.now() - s.lastAuthorizedAt >= sseKeepaliveMs) {
      if (!(await s.stillAuthorized())) return 'unauthorized';
      s.lastAuthorizedAt = Date.now();
    }
    if (reattach(s)) {
      await catchUp(s);
      continue;
    }
    const live = s.live && !s.live.ended ? s.live : null;
    await wait(live ? sseKeepaliveMs : pollMs(s.deps.settings), s.signal, live?.changed() ?? s.attaching?.settled);
    if (s.signal.aborted) break;
    const events = live?.take() ?? [];
    if (events.length > 0) {
      await sendLive(s, events);
      continue;
    }
    await catchUp(s);
    if (Date.now() - s.lastWriteAt >= sseKeepaliveMs) await write(s, KEEPALIVE);
  }
  return s.signal.aborted ? 'closed' : 'terminal';
}

/** The handler of the stream route; see the module doc. */
export async function serveEventStream(
  ctx: RouteContext<{ id: string }, { after?: number | undefined }, undefined>,
): Promise<Answer | undefined> {
  const { deps, req, principal } = ctx;
  const resumed = parseLastEventId(req.headers['last-event-id']);
  const cursor: Cursor = resumed === undefined ? { after: ctx.query.after ?? 0, from: 'after' } : { after: resumed, from: 'Last-Event-ID' };
  const job = await tenantRead(deps.pool, principal.workspaceId, (db) => getJobRow(db, principal.workspaceId, ctx.params.id));
  const { sseMaxClients: total, sseMaxClientsPerWorkspace: perWorkspace, sseRetryMs } = deps.settings;
  const slot = deps.streams.reserve(principal.workspaceId, { total, perWorkspace });
  if (slot === 'full') throw new GantryError('UNAVAILABLE', `this server already serves ${total} event streams; retry later`);
  if (slot === 'workspace-full') {
    const error = new GantryError('RATE_LIMITED', `this server already serves ${perWorkspace} event streams of this workspace; close one or retry later`);
    throw new HttpGantryError(error, { 'retry-after': String(Math.max(1, Math.ceil(sseRetryMs / 1000))) });
  }
  try {
    return await serveInSlot(ctx, job, cursor, slot);
  } finally {
    slot.release();
  }
}

/** Where a stream starts: after this sequence, given by the `after` query or a `Last-Event-ID` header. */
interface Cursor {
  readonly after: number;
  readonly from: 'after' | 'Last-Event-ID';
}

/** The stream of `job` from `cursor`, in a place taken among the process's streams. */
async function serveInSlot(
  ctx: RouteContext<{ id: string }, { after?: number | undefined }, undefined>,
  job: Awaited<ReturnType<typeof getJobRow>>,
  { after, from }: Cursor,
  slot: StreamSlot,
): Promise<Answer | undefined> {
  const { deps, req, reply } = ctx;
  const logger = deps.logger.child({ reqId: req.id, jobId: job.id });
  const openLive = () => openLiveEvents({ js: deps.js, names: deps.names, workspaceId: job.workspace_id, jobId: job.id, logger });
  const live = await openLive().catch((err: unknown) => {
    logger.warn({ err }, 'no live event consumer: the stream polls PostgreSQL and tries again');
    return null;
  });
  let first: JobEvent[];
  try {
    first = (await tenantRead(deps.pool, job.workspace_id, (db) => eventsAfter(db, job.id, after, Limits.maxPageSize))).items;
  } catch (err) {
    await live?.close();
    throw err;
  }
  // A cursor beyond the job's last event names nothing this job sent: every event would fall
  // below it, and the stream would never end. Checked before an ended job's 204 too, which
  // would tell the client it has seen every event.
  if (first.length === 0 && after > 0) {
    const last = await tenantRead(deps.pool, job.workspace_id, (db) => lastSequence(db, job.id)).catch(async (err: unknown) => {
      await live?.close();
      throw err;
    });
    if (after > last) {
      await live?.close();
      throw new GantryError('VALIDATION_FAILED', `${from} ${after} is beyond the job's last event (${last})`, { issues: [{ path: from, message: `must be at most ${last}` }] });
    }
  }
  if (first.length === 0 && isTerminalJobStatus(job.status)) {
    await live?.close();
    return { status: 204 };
  }

  reply.hijack();
  markStreamed(req);
  const res = reply.raw;
  res.writeHead(200, {
    'content-type': EVENT_STREAM_CONTENT_TYPE,
    'cache-control': 'no-cache, no-transform',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
    'x-request-id': String(req.id),
    [HttpHeaders.keepaliveMs]: String(deps.settings.sseKeepaliveMs),
  });
  res.write(retryField(deps.settings.sseRetryMs));

  const abort = new AbortController();
  const onClose = () => abort.abort();
  res.on('close', onClose);
  // The client may have left while the consumer and the backlog were being fetched.
  if (res.destroyed || req.raw.socket.destroyed) abort.abort();
  // Only a refusal of the token ends the stream; PostgreSQL out of reach for a moment does not.
  const stillAuthorized = () => deps.authenticator.authenticate(req.headers.authorization).then(() => true, (err: unknown) => !isGantryError(err, 'UNAUTHENTICATED'));
  const session: Session = {
    deps, res, jobId: job.id, workspaceId: job.workspace_id, live, openLive, attaching: undefined,
    reattachAt: Date.now() + pollMs(deps.settings), reattachDelayMs: pollMs(deps.settings), signal: abort.signal, cursor: after,
    lastType: undefined, sent: 0, lastWriteAt: Date.now(), stillAuthorized, lastAuthorizedAt: Date.now(),
  };
  const startedAt = performance.now();
  deps.apiMetrics.sseClients.inc();
  const done = pump(session, first)
    .catch((err: unknown) => {
      logger.warn({ err }, 'event stream failed; the client resumes from its last event');
      return 'failed';
    })
    .then(async (reason) => {
      res.off('close', onClose);
      await closeLive(session);
      if (!res.writableEnded) res.end();
      deps.apiMetrics.sseClients.dec();
      logRequest(req, 200, (performance.now() - startedAt) / 1000, { events: session.sent, end: reason });
    });
  slot.start(abort, done);
  await done;
  return undefined;
}
