/**
 * A command the consumer could not handle within `max_deliver` stays in the work-queue stream
 * (NATS 2.9 leaves it there). The server announces it with a MAX_DELIVERIES advisory; the
 * leader then dead-letters the message and deletes it from the commands stream.
 */
import type { JetStreamManager } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Names } from '@gantry/contracts';
import type { Logger } from '@gantry/runtime';
import type { DeadLetterer } from './dead-letter.js';

interface MaxDeliveriesAdvisory {
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
}

/** Subscribes to the advisory; returns the subscription (unsubscribe to stop). */
export function watchMaxDeliveries(opts: {
  nc: NatsConnection;
  jsm: JetStreamManager;
  names: Names;
  deadLetter: DeadLetterer;
  logger: Logger;
}): Subscription {
  const { nc, jsm, names, deadLetter, logger } = opts;
  const stream = names.streams.commands;
  return nc.subscribe(names.subjects.maxDeliveriesAdvisory(stream, names.consumers.scheduler), {
    callback: (err, msg) => {
      if (err) return;
      const advisory = msg.json<MaxDeliveriesAdvisory>();
      void (async () => {
        const stored = await jsm.streams.getMessage(stream, { seq: advisory.stream_seq });
        if (!stored) return; // already handled (acked late, or another leader got it)
        await deadLetter(
          { subject: stored.subject, data: stored.data, headers: stored.header, streamSequence: stored.seq, deliveries: advisory.deliveries },
          'MAX_DELIVERIES',
          `not handled within ${advisory.deliveries} deliveries`,
        );
        await jsm.streams.deleteMessage(stream, stored.seq, false);
      })().catch((e: unknown) => logger.error({ err: e, seq: advisory.stream_seq }, 'could not dead-letter an exhausted command'));
    },
  });
}
