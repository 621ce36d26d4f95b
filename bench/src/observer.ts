/**
 * What the bench sees of a cluster on NATS, as it happens: when each job's first `job.started`
 * and its terminal event reached the bench, and which commands the scheduler refused.
 *
 * A job counts as done when its terminal event is committed (BENCHMARK.md). The services
 * publish a job's events on the events stream only after their transaction committed
 * (`createEventFanout`), so the moment such a message arrives here is the earliest the bench can
 * know of the commit: the same point as BullMQ's peer, which times a job to the arrival of its
 * `completed` event. `job_events.created_at` is PostgreSQL's `now()`, the start of the writing
 * transaction, and leaves out its lock waits, its writes and its commit. A job has started when
 * its claim has committed, so its start is timed the same way, to its `job.started` message.
 *
 * Invariants: the observer has its own connection (a slow-consumer disconnect, if the bench's
 * event loop falls behind, loses messages here and nothing else); it is subscribed before any
 * job is submitted (`start` flushes the subscription to the server); it records a job's first
 * start and first terminal arrival only. Messages are not parsed: the terminal types are found in the bytes, and
 * the job id is the subject's last token.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Headers, type Names, TERMINAL_EVENT_TYPES } from '@gantry/contracts';
import { connectNats, createLogger, loadConfig } from '@gantry/runtime';

/** A command the scheduler dead-lettered: its error code and reason, and the subject it came on. */
export interface Refusal {
  readonly code: string;
  readonly reason: string;
  readonly subject: string;
}

/** The observer of one cluster's namespace; see the module doc. */
export interface Observer {
  /** Epoch ms at which `jobId`'s terminal event first reached the bench, if it did. */
  terminalSeenAt(jobId: string): number | undefined;
  /** Epoch ms at which `jobId`'s first `job.started` event reached the bench, if it did. */
  startSeenAt(jobId: string): number | undefined;
  /** How many jobs' terminal events have reached the bench. */
  readonly terminalSeen: number;
  /** Commands the scheduler refused so far (read from the namespace's dead-letter subjects). */
  readonly refusals: readonly Refusal[];
  /** Unsubscribes and closes the connection. Idempotent. */
  close(): Promise<void>;
}

/** An event type as it appears in a serialised event (`JSON.stringify`, no spaces). */
const markerOf = (type: string) => Buffer.from(`"type":"${type}"`);
const TERMINAL_MARKERS = TERMINAL_EVENT_TYPES.map(markerOf);
const START_MARKER = markerOf('job.started');

const bodyOf = (data: Uint8Array) => Buffer.from(data.buffer, data.byteOffset, data.byteLength);

/** True when the message body `data` holds a terminal event. */
export function holdsTerminalEvent(data: Uint8Array): boolean {
  const body = bodyOf(data);
  return TERMINAL_MARKERS.some((marker) => body.includes(marker));
}

/** True when the message body `data` holds a `job.started` event. */
export function holdsStartEvent(data: Uint8Array): boolean {
  return bodyOf(data).includes(START_MARKER);
}

/** Connects, subscribes to `names`' events and dead letters, and resolves once the server has the subscriptions. */
export async function startObserver(names: Names): Promise<Observer> {
  const logger = createLogger({ service: 'bench', version: '0.0.0', level: 'silent' });
  const nc: NatsConnection = await connectNats(loadConfig(), { name: `bench-observer-${names.namespace}`, logger });
  const started = new Map<string, number>();
  const ended = new Map<string, number>();
  const refusals: Refusal[] = [];
  const subscriptions: Subscription[] = [
    nc.subscribe(names.subjects.eventsAll, {
      callback: (err, msg) => {
        if (err) return;
        const at = Date.now();
        const jobId = msg.subject.slice(msg.subject.lastIndexOf('.') + 1);
        if (!started.has(jobId) && holdsStartEvent(msg.data)) started.set(jobId, at);
        if (!ended.has(jobId) && holdsTerminalEvent(msg.data)) ended.set(jobId, at);
      },
    }),
    nc.subscribe(names.subjects.deadLettersAll, {
      callback: (err, msg) => {
        if (err) return;
        refusals.push({
          code: msg.headers?.get(Headers.deadLetterCode) ?? 'unknown',
          reason: msg.headers?.get(Headers.deadLetterReason) ?? 'no reason given',
          subject: msg.headers?.get(Headers.originalSubject) ?? msg.subject,
        });
      },
    }),
  ];
  await nc.flush();
  let closed: Promise<void> | undefined;
  return {
    terminalSeenAt: (jobId) => ended.get(jobId),
    startSeenAt: (jobId) => started.get(jobId),
    get terminalSeen() {
      return ended.size;
    },
    refusals,
    close: () =>
      (closed ??= (async () => {
        for (const s of subscriptions) s.unsubscribe();
        await nc.close();
      })()),
  };
}

/** The error a run fails with when the scheduler refused a command of the bench's. */
export function refusedError(refusals: readonly Refusal[]): Error {
  const first = refusals[0]!;
  return new Error(`the scheduler refused ${refusals.length} command(s) of the bench; first, on ${first.subject}: ${first.code}: ${first.reason}`);
}
