/**
 * Publishes committed JobEvents on the events stream for live consumers (SSE, CLIs, other
 * services): one message per job per commit, its events in sequence order, split only when a
 * message would pass NATS's size limit.
 *
 * Best effort by design: a consumer that misses a message catches up from PostgreSQL by
 * sequence. So the messages go out as plain core-NATS publishes on the stream's subjects —
 * JetStream stores them without answering each with a PubAck. That spares the request a
 * JetStream publish costs both ends (an inbox reply, a timer, an error object per message): on
 * the throughput benchmark the PubAcks of event messages were the largest single cost of the
 * workers' CPU. A publish that throws (the connection closed) is counted and logged, never
 * retried or thrown.
 *
 * The messages carry no `Nats-Msg-Id`: a commit's events are fanned out once, by the writer
 * that saw the commit succeed (a replayed write's again: see `JobWrite.replay`), and consumers
 * order and dedupe by the events' own sequences. A header costs every message about 2.5 µs of
 * the publisher's CPU (a headers object, its encoding) and the server a dedup-table entry; in
 * `submit`, where the API sends one message per created job, that was ≈ 4 % of the API's CPU.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { CURRENT_EVENT_VERSION, type EventBatch, type JobEvent, MetricLabels, MetricNames, type Names } from '@gantry/contracts';
import type { Logger } from './logger.js';
import { counterOn } from './metrics.js';
import { PUBLISHES_HELP } from './publisher.js';

/** Bytes of events in one message at most (NATS's default limit is 1 MiB; headers need room). */
const MAX_MESSAGE_BYTES = 900 * 1024;

/** A committed write's events, as the store's writers report them. */
export interface CommittedEvents {
  readonly events: readonly JobEvent[];
}

/** The bodies of one job's messages: one, unless its events would pass {@link MAX_MESSAGE_BYTES}. */
function bodiesFor(events: readonly JobEvent[]): string[] {
  const first = events[0]!;
  const bodyOf = (batch: readonly JobEvent[]) =>
    JSON.stringify({ v: CURRENT_EVENT_VERSION, jobId: first.jobId, workspaceId: first.workspaceId, events: batch as JobEvent[] } satisfies EventBatch);
  // The usual case, serialised once: everything fits one message.
  const whole = bodyOf(events);
  if (whole.length <= MAX_MESSAGE_BYTES / 4 || Buffer.byteLength(whole) <= MAX_MESSAGE_BYTES) return [whole];
  const bodies: string[] = [];
  let batch: JobEvent[] = [];
  let bytes = 0;
  for (const event of events) {
    const size = Buffer.byteLength(JSON.stringify(event));
    if (batch.length > 0 && bytes + size > MAX_MESSAGE_BYTES) {
      bodies.push(bodyOf(batch));
      batch = [];
      bytes = 0;
    }
    batch.push(event);
    bytes += size;
  }
  if (batch.length > 0) bodies.push(bodyOf(batch));
  return bodies;
}

/** Options of {@link createEventFanout}. */
export interface EventFanoutOptions {
  readonly nc: NatsConnection;
  readonly names: Names;
  readonly logger: Logger;
  /** Counts messages sent and failed on `gantry_nats_publishes_total` / `…_errors_total`. */
  readonly registry?: Registry;
}

/** Publishes committed events; never throws. */
export type EventFanout = (committed: readonly CommittedEvents[]) => void;

/** Groups `committed` by job and publishes each job's events; never throws. */
export function createEventFanout(opts: EventFanoutOptions): EventFanout {
  const { nc, names, logger } = opts;
  const stream = names.streams.events;
  const sent = opts.registry
    ? counterOn(opts.registry, {
        name: MetricNames.natsPublishes,
        help: PUBLISHES_HELP,
        labelNames: [MetricLabels.stream, MetricLabels.outcome],
      })
    : undefined;
  const errors = opts.registry
    ? counterOn(opts.registry, { name: MetricNames.natsPublishErrors, help: 'JetStream publishes that failed, by reason.', labelNames: [MetricLabels.reason] })
    : undefined;
  return function fanOut(committed) {
    const byJob = new Map<string, JobEvent[]>();
    for (const { events } of committed) {
      for (const event of events) {
        const list = byJob.get(event.jobId);
        if (list) list.push(event);
        else byJob.set(event.jobId, [event]);
      }
    }
    let published = 0;
    let failed = 0;
    let firstError: unknown;
    for (const events of byJob.values()) {
      const subject = names.subjects.events(events[0]!.workspaceId, events[0]!.jobId);
      for (const body of bodiesFor(events)) {
        try {
          nc.publish(subject, body);
          published++;
        } catch (err) {
          failed++;
          firstError ??= err;
        }
      }
    }
    sent?.inc({ stream, outcome: 'sent' }, published);
    if (failed > 0) {
      errors?.inc({ reason: 'closed' }, failed);
      logger.warn({ failed, err: firstError }, 'event fan-out publishes failed');
    }
  };
}
