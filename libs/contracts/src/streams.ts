/**
 * JetStream stream and consumer settings, in Gantry's own terms (milliseconds, bytes); the
 * runtime maps them onto the NATS API when it provisions. Settings here run unchanged on NATS
 * 2.9 and later: one filter subject per consumer, no priority groups, no per-message TTL.
 */
import type { Names } from './names.js';

/** How a stream keeps messages. */
export type Retention = 'workqueue' | 'limits';

export interface StreamSettings {
  readonly name: string;
  readonly subjects: readonly string[];
  readonly retention: Retention;
  readonly storage: 'file';
  /** Window in which a repeated `Nats-Msg-Id` is dropped. */
  readonly duplicateWindowMs: number;
  /** Oldest message kept; 0 keeps until consumed (work queue) or until `maxBytes`. */
  readonly maxAgeMs: number;
  /** Total size bound; -1 for none. */
  readonly maxBytes: number;
  /** Largest message accepted. */
  readonly maxMsgBytes: number;
  /** What happens when a bound is reached: drop the oldest, or refuse new messages. */
  readonly discard: 'old' | 'new';
  readonly description: string;
}

export interface ConsumerSettings {
  readonly stream: string;
  readonly durableName: string;
  readonly filterSubject: string;
  /** Time to ack before redelivery (NATS replaces it with the first backoff step). */
  readonly ackWaitMs: number;
  /** Deliveries before the server gives up and emits a MAX_DELIVERIES advisory. */
  readonly maxDeliver: number;
  /** Redelivery delays; `maxDeliver` exceeds their count (a NATS rule). */
  readonly backoffMs: readonly number[];
  /** Unacknowledged messages the server hands out before it waits. */
  readonly maxAckPending: number;
  readonly description: string;
}

const MINUTE = 60_000;
/** NATS's default `max_payload`: no message may be larger, whatever a stream allows. */
const MAX_PAYLOAD = 1024 * 1024;
const DAY = 24 * 60 * MINUTE;

/** Every stream of a deployment. */
export function streamSettings(n: Names): readonly StreamSettings[] {
  return [
    {
      name: n.streams.commands,
      subjects: [n.subjects.commandsAll],
      retention: 'workqueue',
      storage: 'file',
      duplicateWindowMs: 2 * MINUTE,
      maxAgeMs: 7 * DAY,
      maxBytes: -1,
      maxMsgBytes: MAX_PAYLOAD,
      discard: 'old',
      description: 'Job commands (submit, cancel, retry, approve) from the API and other services.',
    },
    {
      name: n.streams.dispatch,
      subjects: [n.subjects.dispatchAll],
      retention: 'workqueue',
      storage: 'file',
      duplicateWindowMs: 2 * MINUTE,
      maxAgeMs: 1 * DAY,
      maxBytes: -1,
      maxMsgBytes: 64 * 1024,
      discard: 'old',
      description: 'Dispatches from the scheduler leader to worker pools; Nats-Msg-Id <jobId>:<attempt>.',
    },
    {
      name: n.streams.events,
      subjects: [n.subjects.eventsAll],
      retention: 'limits',
      storage: 'file',
      duplicateWindowMs: 2 * MINUTE,
      maxAgeMs: 1 * DAY,
      // Bounded by age only: a byte limit makes JetStream reserve that much file storage.
      maxBytes: -1,
      maxMsgBytes: MAX_PAYLOAD,
      discard: 'old',
      description: 'Committed JobEvents, one message per job per commit, for live consumers.',
    },
    {
      name: n.streams.deadLetters,
      subjects: [n.subjects.deadLettersAll],
      retention: 'limits',
      storage: 'file',
      duplicateWindowMs: 2 * MINUTE,
      maxAgeMs: 30 * DAY,
      maxBytes: -1,
      maxMsgBytes: MAX_PAYLOAD,
      discard: 'old',
      description: 'Refused or undeliverable commands with their reason and original headers.',
    },
  ];
}

/** The scheduler's consumer of commands. */
export function schedulerConsumer(n: Names): ConsumerSettings {
  return {
    stream: n.streams.commands,
    durableName: n.consumers.scheduler,
    filterSubject: n.subjects.commandsAll,
    ackWaitMs: 30_000,
    maxDeliver: 5,
    backoffMs: [1_000, 5_000, 15_000, 30_000],
    maxAckPending: 1_000,
    description: 'The scheduler leader consumes every command.',
  };
}

/**
 * A worker pool's consumer of dispatches. Workers pull only as many as they have free slots.
 *
 * The ack wait (the first backoff step, which the server uses in its place) is how long a
 * dispatch a worker pulled stays with it when the worker dies before its claim commits: no
 * attempt was claimed, so only JetStream's redelivery brings it back. A held dispatch gets an
 * in-progress ack every third of it while its attempt runs. 5 s keeps that redelivery close to
 * WORKER_LOST_MS, after which a killed worker's claimed jobs are queued again; at 30 s it made
 * the `recovery` bench's figure 30 s whenever the kill caught a dispatch in that window.
 */
export function dispatchConsumer(n: Names, pool: string): ConsumerSettings {
  return {
    stream: n.streams.dispatch,
    durableName: n.consumers.dispatch(pool),
    filterSubject: n.subjects.dispatch(pool),
    ackWaitMs: 5_000,
    maxDeliver: 5,
    backoffMs: [5_000, 15_000, 30_000],
    maxAckPending: 10_000,
    description: `Workers of pool ${pool} pull their dispatches here.`,
  };
}

/** Object store buckets and their settings. */
export function bucketSettings(n: Names) {
  return [
    {
      name: n.buckets.artifacts,
      description: 'ARTIFACT step outputs under <workspaceId>/<jobId>/<name>.',
      storage: 'file' as const,
      maxAgeMs: 30 * DAY,
    },
  ] as const;
}
