/**
 * The dispatch consumer: pulls from the pool's durable consumer no more messages than the
 * worker has free slots, and hands each to the dispatch handler without waiting for it. A slot
 * that frees while a pull is still waiting gets a pull of its own (pulls run concurrently), so
 * a freed slot never idles until an earlier pull expires. That pull goes at once when no pull
 * waits; while earlier pulls still wait for messages (they take the next dispatches meanwhile)
 * it waits up to `gatherMs` for other slots to free, so that a worker finishing jobs one at a
 * time asks the server once for several rather than once per job.
 *
 * Invariants:
 * - requested + held ≤ concurrency, always: a pull reserves the free slots it asks for, each
 *   message received takes one (one beyond them is nak'd), and unfilled reservations are
 *   returned when the pull ends;
 * - after `stop()` nothing more is pulled; a message that still arrives is nak'd at once so that
 *   another worker takes it.
 */
import { type Consumer, jetstream, type JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { dispatchConsumer, type Names } from '@gantry/contracts';
import { delay, type Logger, startStop, type StartStopComponent, withViews } from '@gantry/runtime';
import type { Slots } from '../slots.js';

/** How long one pull waits for messages before it is renewed. */
export const PULL_EXPIRES_MS = 10_000;

/** Options of {@link createDispatchConsumer}. */
export interface DispatchConsumerOptions {
  readonly nc: NatsConnection;
  readonly names: Names;
  readonly pool: string;
  readonly slots: Slots;
  /** How long freed slots gather while earlier pulls still wait; 0 pulls at once. */
  readonly gatherMs?: number;
  readonly logger: Logger;
  /** Called for each message after a slot was occupied for it; must release the slot. */
  readonly onMessage: (msg: JsMsg) => Promise<void>;
}

/** The consumer; `ackWaitMs` is known after `start()` (the server's effective ack wait). */
export interface DispatchConsumer extends StartStopComponent {
  readonly ackWaitMs: number;
}

/** Builds the dispatch consumer; see the module doc. */
export function createDispatchConsumer(opts: DispatchConsumerOptions): DispatchConsumer {
  const logger = opts.logger.child({ component: 'dispatch-consumer' });
  const settings = dispatchConsumer(opts.names, opts.pool);
  const gatherMs = opts.gatherMs ?? 0;
  let consumer: Consumer | undefined;
  let ackWaitMs = settings.backoffMs[0] ?? settings.ackWaitMs;

  /** One pull for `wanted` slots the caller reserved; gives back what no message filled. */
  const pullOnce = async (wanted: number, signal: AbortSignal): Promise<void> => {
    let received = 0;
    try {
      const batch = await consumer!.fetch({ max_messages: wanted, expires: PULL_EXPIRES_MS });
      const onAbort = () => void batch.close().catch(() => undefined);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      try {
        for await (const msg of batch) {
          // More than this pull reserved for: after a reconnect the client asks the server again
          // for the batch's full size, forgetting what it delivered. Another pull, or another
          // worker, takes it.
          if (received >= wanted) {
            msg.nak();
            continue;
          }
          received += 1;
          if (signal.aborted) {
            opts.slots.unreserve(1);
            msg.nak();
            continue;
          }
          opts.slots.occupy();
          void opts.onMessage(msg);
        }
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
    } finally {
      opts.slots.unreserve(wanted - received);
    }
  };

  const component = startStop({
    name: 'dispatch-consumer',
    setup: async () => {
      consumer = await jetstream(opts.nc).consumers.get(settings.stream, settings.durableName);
      const info = await consumer.info(true);
      const backoff = info.config.backoff?.[0];
      const nanos = backoff ?? info.config.ack_wait;
      if (nanos !== undefined) ackWaitMs = Math.round(nanos / 1e6);
    },
    run: async (signal) => {
      const pulls = new Set<Promise<void>>();
      let failing: Promise<unknown> = Promise.resolve();
      while (!signal.aborted) {
        await failing;
        // Let the slots freed in this tick gather into one pull.
        await new Promise((resolve) => setImmediate(resolve));
        if ((await opts.slots.waitForFree(signal)) === 0 || signal.aborted) break;
        if (gatherMs > 0 && opts.slots.reserved > 0) await opts.slots.unreservedWithin(gatherMs);
        const wanted = opts.slots.free;
        if (signal.aborted) break;
        if (wanted === 0) continue;
        opts.slots.reserve(wanted);
        const pull: Promise<void> = pullOnce(wanted, signal)
          .catch((err: unknown) => {
            if (signal.aborted) return;
            logger.warn({ err }, 'pulling dispatches failed; retrying');
            failing = delay(1_000, signal);
          })
          .finally(() => pulls.delete(pull));
        pulls.add(pull);
      }
      await Promise.allSettled(pulls);
    },
  });

  return withViews(component, {
    get ackWaitMs() {
      return ackWaitMs;
    },
  });
}
