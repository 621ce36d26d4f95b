/**
 * Publishes committed JobEvents on the events stream for live consumers (SSE, CLIs, other
 * services): one message per job per commit, its events in sequence order, split only when a
 * message would pass NATS's size limit. Best effort by design: a consumer that misses a message
 * catches up from PostgreSQL by sequence, so a failed publish is counted and logged, never
 * retried or thrown.
 */
import { CURRENT_EVENT_VERSION, type EventBatch, type JobEvent, type Names } from '@gantry/contracts';
import type { Logger } from './logger.js';
import type { OutgoingMessage, Publisher } from './publisher.js';

/** Bytes of events in one message at most (NATS's default limit is 1 MiB; headers need room). */
const MAX_MESSAGE_BYTES = 900 * 1024;

/** A committed write's events, as the store's writers report them. */
export interface CommittedEvents {
  readonly events: readonly JobEvent[];
}

function messagesFor(names: Names, events: readonly JobEvent[]): OutgoingMessage[] {
  const first = events[0]!;
  const subject = names.subjects.events(first.workspaceId, first.jobId);
  const messages: OutgoingMessage[] = [];
  let batch: JobEvent[] = [];
  let bytes = 0;
  const flush = () => {
    if (batch.length === 0) return;
    const body: EventBatch = { v: CURRENT_EVENT_VERSION, jobId: first.jobId, workspaceId: first.workspaceId, events: batch };
    const last = batch[batch.length - 1]!;
    // The message id makes a re-publish of the same commit a no-op within the dedup window.
    messages.push({ subject, data: JSON.stringify(body), msgId: `${first.jobId}:${batch[0]!.sequence}-${last.sequence}` });
    batch = [];
    bytes = 0;
  };
  for (const event of events) {
    const size = JSON.stringify(event).length;
    if (bytes + size > MAX_MESSAGE_BYTES) flush();
    batch.push(event);
    bytes += size;
  }
  flush();
  return messages;
}

/** Groups `committed` by job and publishes each job's events; never throws. */
export function createEventFanout(publisher: Publisher, names: Names, logger: Logger) {
  return function fanOut(committed: readonly CommittedEvents[]): void {
    const byJob = new Map<string, JobEvent[]>();
    for (const { events } of committed) {
      for (const event of events) {
        const list = byJob.get(event.jobId);
        if (list) list.push(event);
        else byJob.set(event.jobId, [event]);
      }
    }
    const messages = [...byJob.values()].flatMap((events) => messagesFor(names, events));
    void publisher.publishAll(messages).then((results) => {
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length > 0) {
        logger.warn({ failed: failed.length, err: (failed[0] as PromiseRejectedResult).reason }, 'event fan-out publishes failed');
      }
    });
  };
}
