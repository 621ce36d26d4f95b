/**
 * One job's events as they are published: an ordered consumer on the events stream with the
 * job's subject as its single filter (NATS 2.9 takes one filter subject), delivering only
 * messages published after it was created. Each message is one commit's EventBatch; a message
 * that does not parse is dropped (the stream catches up from PostgreSQL by sequence anyway).
 *
 * `close()` stops the consumer and deletes it on the server, so no ephemeral consumer outlives
 * the stream it served.
 */
import { DeliverPolicy, type Consumer, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import { EventBatch, type JobEvent, type Names } from '@gantry/contracts';
import type { Logger } from '@gantry/runtime';

/** A job's live events. */
export interface LiveEvents {
  /** Events received and not yet taken, in arrival order (each batch in sequence order). */
  take(): JobEvent[];
  /** Resolves when events arrive or the consumer ends (whichever first); never rejects. */
  readonly changed: () => Promise<void>;
  /** True once the consumer has stopped on its own (connection lost, stream deleted). */
  readonly ended: boolean;
  /** Stops and deletes the consumer. Idempotent; never rejects. */
  close(): Promise<void>;
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
  let ended = false;
  let wake: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  let messages: ConsumerMessages;
  try {
    messages = await consumer.consume({
      callback: (msg) => {
        const parsed = EventBatch.safeParse(msg.json());
        if (!parsed.success) {
          opts.logger.debug({ subject: msg.subject }, 'dropped an event batch that does not parse');
          return;
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
