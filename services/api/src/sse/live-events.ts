/**
 * One job's events as they are published: an ordered consumer on the events stream with the
 * job's subject as its single filter (NATS 2.9 takes one filter subject), delivering only
 * messages published after it was created. Each message is one commit's EventBatch; a message
 * that does not parse is dropped (the stream catches up from PostgreSQL by sequence anyway).
 * Events not taken are held up to {@link LIVE_BUFFER_EVENTS}; past that the oldest are dropped,
 * and the stream reads them from PostgreSQL when it sees the gap.
 *
 * `close()` stops the consumer and deletes it on the server, so no ephemeral consumer outlives
 * the stream it served.
 */
import { DeliverPolicy, type Consumer, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import { EventBatch, type JobEvent, type Names } from '@gantry/contracts';
import type { Logger } from '@gantry/runtime';

/** Events held for a stream that has not taken them (a slow client's): a page of them. */
export const LIVE_BUFFER_EVENTS = 500;

const decoder = new TextDecoder();

/** A job's live events. */
export interface LiveEvents {
  /** Events received and not yet taken, in arrival order (each batch in sequence order). */
  take(): JobEvent[];
  /** Events dropped because more than {@link LIVE_BUFFER_EVENTS} waited to be taken. */
  readonly dropped: number;
  /** Resolves when events arrive or the consumer ends (whichever first); never rejects. */
  readonly changed: () => Promise<void>;
  /** True once the consumer has stopped on its own (connection lost, stream deleted). */
  readonly ended: boolean;
  /** Stops and deletes the consumer. Idempotent; never rejects. */
  close(): Promise<void>;
}

/** A message's data as JSON, or undefined when it is not JSON. */
function jsonOf(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
}

/** Options of {@link openLiveEvents}. */
export interface LiveEventsOptions {
  readonly js: JetStreamClient;
  readonly names: Names;
  readonly workspaceId: string;
  readonly jobId: string;
  readonly logger: Logger;
}

/** Creates the consumer and starts receiving; rejects when NATS cannot create it. */
export async function openLiveEvents(opts: LiveEventsOptions): Promise<LiveEvents> {
  const subject = opts.names.subjects.events(opts.workspaceId, opts.jobId);
  const consumer: Consumer = await opts.js.consumers.get(opts.names.streams.events, {
    filter_subjects: subject,
    deliver_policy: DeliverPolicy.New,
  });
  let received: JobEvent[] = [];
  let dropped = 0;
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  let messages: ConsumerMessages;
  try {
    messages = await consumer.consume({
      // A throw here would end the consumer: anything that is not an event batch is dropped.
      callback: (msg) => {
        const parsed = EventBatch.safeParse(jsonOf(msg.data));
        if (!parsed.success) {
          opts.logger.debug({ subject: msg.subject }, 'dropped a message that is not an event batch');
          return;
        }
        if (received.length + parsed.data.events.length > LIVE_BUFFER_EVENTS) {
          dropped += received.length;
          received = [];
        }
        received.push(...(parsed.data.events as JobEvent[]));
        notify();
      },
    });
  } catch (err) {
    await consumer.delete().catch(() => undefined);
    throw err;
  }
  void messages.closed().then(() => {
    ended = true;
    notify();
  });

  let closing: Promise<void> | undefined;
  return {
    take() {
      const out = received;
      received = [];
      return out;
    },
    get dropped() {
      return dropped;
    },
    changed: () => (received.length > 0 || ended ? Promise.resolve() : new Promise<void>((resolve) => (wake = resolve))),
    get ended() {
      return ended;
    },
    close() {
      closing ??= (async () => {
        messages.stop();
        try {
          await consumer.delete();
        } catch (err) {
          opts.logger.debug({ err }, 'event consumer not deleted; the server drops it when inactive');
        }
      })();
      return closing;
    },
  };
}
