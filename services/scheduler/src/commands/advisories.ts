/**
 * A command the consumer could not handle within `max_deliver` stays in the work-queue stream
 * (NATS 2.9 leaves it there). The server announces it with a MAX_DELIVERIES advisory; the
 * leader then dead-letters the message and deletes it from the commands stream, trying again
 * a few times if that fails. The advisory is sent once, on core NATS: one that no leader heard
 * (a failover), or whose dead-lettering kept failing, is caught by a sweep of the stream
 * ({@link sweepGivenUp}, a duty of the leader's maintenance).
 */
import type { JetStreamManager, MsgRequest } from '@nats-io/jetstream';
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { Names } from '@gantry/contracts';
import { delay, type Logger } from '@gantry/runtime';
import type { DeadLetterer } from './dead-letter.js';

interface MaxDeliveriesAdvisory {
  stream: string;
  consumer: string;
  stream_seq: number;
  deliveries: number;
}

/** What dead-lettering a given-up command needs. */
export interface GivenUpOptions {
  jsm: JetStreamManager;
  names: Names;
  deadLetter: DeadLetterer;
  logger: Logger;
}

/** Tries of an advisory's dead-lettering, a second apart and more; the sweep ({@link sweepGivenUp}) catches what they miss. */
const ADVISORY_TRIES = 4;

/**
 * Dead-letters the stored command `seq` of the commands stream and deletes it there; false when
 * it is no longer stored (acked late, or handled by another leader).
 */
async function deadLetterGivenUp(opts: GivenUpOptions, seq: number, deliveries: number, reason: string): Promise<boolean> {
  const stream = opts.names.streams.commands;
  const stored = await opts.jsm.streams.getMessage(stream, { seq });
  if (!stored) return false;
  await opts.deadLetter(
    { subject: stored.subject, data: stored.data, headers: stored.header, streamSequence: stored.seq, deliveries },
    'MAX_DELIVERIES',
    reason,
  );
  await opts.jsm.streams.deleteMessage(stream, stored.seq, false);
  return true;
}

/**
 * Subscribes to the advisory; returns the subscription (unsubscribe to stop). `onGivenUp` learns
 * each command the server gave up, dead-lettered or not.
 */
export function watchMaxDeliveries(opts: GivenUpOptions & { nc: NatsConnection; onGivenUp?: (streamSequence: number) => void }): Subscription {
  const { nc, names, logger } = opts;
  const stream = names.streams.commands;
  return nc.subscribe(names.subjects.maxDeliveriesAdvisory(stream, names.consumers.scheduler), {
    callback: (err, msg) => {
      if (err) return;
      const advisory = msg.json<MaxDeliveriesAdvisory>();
      opts.onGivenUp?.(advisory.stream_seq);
      void (async () => {
        for (let tries = 1; ; tries++) {
          try {
            await deadLetterGivenUp(opts, advisory.stream_seq, advisory.deliveries, `not handled within ${advisory.deliveries} deliveries`);
            return;
          } catch (e) {
            if (tries >= ADVISORY_TRIES) throw e;
            await delay(1_000 * 2 ** (tries - 1));
          }
        }
      })().catch((e: unknown) => logger.error({ err: e, seq: advisory.stream_seq }, 'could not dead-letter an exhausted command; the sweep will'));
    },
  });
}

/** Stored commands a sweep reads at most. */
const SWEEP_SCAN_LIMIT = 1_000;

/**
 * Dead-letters the commands the server gave up that are still stored: those whose advisory was
 * lost (sent once, on core NATS, while no leader listened or its dead-lettering kept failing).
 * A work-queue stream holds a command until it is acked, so the stored commands are those not
 * yet delivered, those pending (delivered and unacked, or put back and waiting to be delivered
 * again: `isHeld` knows this leader's, and another leader's come back within seconds)
 * and the given-up ones; when the counts say there are some, the stored commands up to the last
 * delivered one, older than `minAgeMs` and not held, are theirs. Returns how many it
 * dead-lettered.
 */
export async function sweepGivenUp(opts: GivenUpOptions & { isHeld: (streamSequence: number) => boolean; minAgeMs: number }): Promise<number> {
  const stream = opts.names.streams.commands;
  const [info, consumer] = await Promise.all([opts.jsm.streams.info(stream), opts.jsm.consumers.info(stream, opts.names.consumers.scheduler)]);
  const givenUp = info.state.messages - consumer.num_ack_pending - consumer.num_pending;
  if (givenUp <= 0) return 0;
  const before = Date.now() - opts.minAgeMs;
  const deliveries = consumer.config.max_deliver ?? 0;
  let swept = 0;
  let seq = info.state.first_seq;
  for (let scanned = 0; swept < givenUp && scanned < SWEEP_SCAN_LIMIT && seq <= consumer.delivered.stream_seq; scanned++) {
    // The first stored at or after `seq` (STREAM.MSG.GET's `next_by_subj`, NATS 2.9 on; the
    // client's type leaves it out): deleted, acked commands are skipped in one request.
    const stored = await opts.jsm.streams.getMessage(stream, { seq, next_by_subj: '>' } as unknown as MsgRequest);
    if (!stored || stored.seq > consumer.delivered.stream_seq) break;
    seq = stored.seq + 1;
    // Stored in order of arrival: from the first one too young on, all are.
    if (stored.time.getTime() > before) break;
    if (opts.isHeld(stored.seq)) continue;
    try {
      if (await deadLetterGivenUp(opts, stored.seq, deliveries, `not handled within ${deliveries} deliveries (found by the sweep of given-up commands)`)) swept += 1;
    } catch (err) {
      // One command that cannot be dead-lettered does not keep the sweep from those after it.
      opts.logger.error({ err, seq: stored.seq }, 'could not dead-letter a given-up command; the next sweep tries again');
    }
  }
  if (swept > 0) opts.logger.warn({ swept }, 'dead-lettered commands the server gave up whose advisory was lost');
  return swept;
}
