/**
 * The background lane for the submit commands the API publishes after a commit without waiting
 * for them (committed events go out through the runtime's event fan-out). Messages wait in a
 * FIFO queue and go to the JetStream publisher through a sliding window, so at most `window`
 * publishes await their PubAck and the publisher's own queue stays empty however large a burst
 * is (a 1,000-job batch is 1,000 messages). When more than `maxQueued` messages wait, new ones
 * are refused at once rather than held: every message here has a repair path (the reconciler
 * re-publishes PENDING jobs).
 */
import type { PubAck } from '@nats-io/jetstream';
import type { OutgoingMessage, Publisher } from '@gantry/runtime';

/** Options of {@link createAnnouncer}. */
export interface AnnouncerOptions {
  readonly publisher: Publisher;
  /** Publishes awaiting a PubAck at once; default 256 (the runtime publisher's bound). */
  readonly window?: number;
  /** Messages that may wait; more are refused. */
  readonly maxQueued: number;
}

/** A message refused because the queue was full. */
export class BacklogFullError extends Error {
  override readonly name = 'BacklogFullError';
  constructor(limit: number) {
    super(`more than ${limit} messages wait to be published`);
  }
}

/** The background publishing lane. */
export interface Announcer {
  /** Queues `messages`; settles, one result per message in order, when each has been published or has failed. */
  publishAll(messages: readonly OutgoingMessage[]): Promise<PromiseSettledResult<PubAck>[]>;
  /** Messages waiting for a slot. */
  readonly queued: number;
  /** Resolves when nothing is queued or in flight (or after `timeoutMs`). */
  idle(timeoutMs: number): Promise<void>;
}

interface Entry {
  readonly message: OutgoingMessage;
  readonly settle: (result: PromiseSettledResult<PubAck>) => void;
}

/** Builds the lane on `publisher`. */
export function createAnnouncer(opts: AnnouncerOptions): Announcer {
  const window = opts.window ?? 256;
  let queue: Entry[] = [];
  let head = 0;
  let inFlight = 0;
  let idlers: (() => void)[] = [];
  let refill: NodeJS.Immediate | undefined;

  const queued = () => queue.length - head;
  const settleIdle = () => {
    if (inFlight > 0 || queued() > 0) return;
    for (const resolve of idlers) resolve();
    idlers = [];
  };
  const pump = () => {
    while (inFlight < window && queued() > 0) {
      const entry = queue[head]!;
      queue[head++] = undefined as never;
      inFlight += 1;
      const { subject, data, ...options } = entry.message;
      opts.publisher.publish(subject, data, options).then(
        (value) => entry.settle({ status: 'fulfilled', value }),
        (reason: unknown) => entry.settle({ status: 'rejected', reason }),
      ).finally(() => {
        inFlight -= 1;
        scheduleRefill();
        settleIdle();
      });
    }
    if (head > 1024 && head * 2 > queue.length) {
      queue = queue.slice(head);
      head = 0;
    }
  };

  // Slots freed by the PubAcks of one I/O turn are refilled together, so the client writes many
  // messages to its socket at once instead of one write per acknowledged message.
  const scheduleRefill = () => {
    refill ??= setImmediate(() => {
      refill = undefined;
      pump();
    });
  };

  return {
    publishAll(messages) {
      if (queued() + messages.length > opts.maxQueued) {
        const reason = new BacklogFullError(opts.maxQueued);
        return Promise.resolve(messages.map(() => ({ status: 'rejected' as const, reason })));
      }
      const results = messages.map(
        (message) => new Promise<PromiseSettledResult<PubAck>>((settle) => queue.push({ message, settle })),
      );
      pump();
      return Promise.all(results);
    },
    get queued() {
      return queued();
    },
    idle(timeoutMs) {
      if (inFlight === 0 && queued() === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, timeoutMs);
        idlers.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
