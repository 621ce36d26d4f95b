/**
 * The asynchronous JetStream publisher every hot path publishes through. Publishes are sent
 * without waiting for earlier acknowledgements, up to a bound on how many await their PubAck
 * (256 by default: measured here as the sweet spot, more in flight is slower). Beyond the bound,
 * `publish()` waits for a slot, in call order, so a producer cannot outrun the server.
 *
 * Publish many messages by starting every `publish()` and then awaiting them together (or
 * with {@link Publisher.publishAll}); awaiting each publish in a loop costs a round trip per
 * message, which is the performance bug this module exists to avoid.
 */
import { JetStreamApiError, type JetStreamClient, type PubAck } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import type { Registry } from 'prom-client';
import { MetricLabels, MetricNames } from '@gantry/contracts';
import { counterOn } from './metrics.js';
import { Semaphore } from './semaphore.js';

/** Help text of `gantry_nats_publishes_total`, shared with the event fan-out that also counts on it. */
export const PUBLISHES_HELP =
  'JetStream publishes acknowledged by the server, by stream and outcome (stored, duplicate); `sent` counts event messages published without an acknowledgement.';

/** Publishes awaiting their PubAck at once, when not told. */
export const DEFAULT_MAX_IN_FLIGHT = 256;
/** How long a publish waits for its PubAck, when not told. */
export const DEFAULT_PUBLISH_TIMEOUT_MS = 5_000;

/** Options of one publish. */
export interface PublishOptions {
  /** `Nats-Msg-Id`: a repeat within the stream's duplicate window is acknowledged, not stored. */
  readonly msgId?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** One message of {@link Publisher.publishAll}. */
export interface OutgoingMessage extends PublishOptions {
  readonly subject: string;
  readonly data: Uint8Array | string;
}

/** Options of {@link createPublisher}. */
export interface PublisherOptions {
  /** Default {@link DEFAULT_MAX_IN_FLIGHT}. */
  readonly maxInFlight?: number;
  /** Default {@link DEFAULT_PUBLISH_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
  /** Registry to count publishes and errors on (`gantry_nats_publishes_total`, `…_errors_total`). */
  readonly registry?: Registry;
}

/** A bounded, asynchronous JetStream publisher. */
export interface Publisher {
  /**
   * Publishes one message; resolves with the server's PubAck (`duplicate` set when `msgId` was
   * seen within the duplicate window), rejects if the server refuses or does not answer.
   */
  publish(subject: string, data: Uint8Array | string, opts?: PublishOptions): Promise<PubAck>;
  /** Publishes every message concurrently within the bound; one settled result per message, in order. */
  publishAll(messages: readonly OutgoingMessage[]): Promise<PromiseSettledResult<PubAck>[]>;
  /** Resolves when every publish started so far has settled. */
  flush(): Promise<void>;
  /** Refuses new publishes, then waits for those started to settle. Idempotent. */
  close(): Promise<void>;
  /** Publishes awaiting their PubAck. */
  readonly inFlight: number;
  /** Publishes waiting for a slot. */
  readonly waiting: number;
}

/** Why a publish failed, as the `reason` label of the errors counter. */
export type PublishErrorReason = 'timeout' | 'no_stream' | 'rejected' | 'closed' | 'other';

/** Classifies a publish error into a small, fixed set of label values. */
export function publishErrorReason(err: unknown): PublishErrorReason {
  if (err instanceof JetStreamApiError) return 'rejected';
  const name = err instanceof Error ? err.name : '';
  if (name === 'TimeoutError') return 'timeout';
  if (name === 'JetStreamNotEnabled' || name === 'NoRespondersError') return 'no_stream';
  if (name === 'ClosedConnectionError' || name === 'PublisherClosedError') return 'closed';
  return 'other';
}

class PublisherClosedError extends Error {
  override readonly name = 'PublisherClosedError';
  constructor() {
    super('publisher is closed');
  }
}

function counters(registry: Registry | undefined) {
  if (!registry) return undefined;
  return {
    publishes: counterOn(registry, {
      name: MetricNames.natsPublishes,
      help: PUBLISHES_HELP,
      labelNames: [MetricLabels.stream, MetricLabels.outcome],
    }),
    errors: counterOn(registry, {
      name: MetricNames.natsPublishErrors,
      help: 'JetStream publishes that failed, by reason.',
      labelNames: [MetricLabels.reason],
    }),
  };
}

/** Builds a publisher on `js`. */
export function createPublisher(js: JetStreamClient, opts: PublisherOptions = {}): Publisher {
  const slots = new Semaphore(opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
  const timeout = opts.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  const metrics = counters(opts.registry);
  let closed = false;

  const send = async (subject: string, data: Uint8Array | string, o: PublishOptions): Promise<PubAck> => {
    const hdrs = o.headers ? natsHeaders() : undefined;
    for (const [k, v] of Object.entries(o.headers ?? {})) hdrs?.set(k, v);
    return js.publish(subject, data, { msgID: o.msgId, headers: hdrs, timeout });
  };

  const publish = async (subject: string, data: Uint8Array | string, o: PublishOptions = {}): Promise<PubAck> => {
    try {
      if (closed) throw new PublisherClosedError();
      await slots.acquire();
      try {
        const ack = await send(subject, data, o);
        metrics?.publishes.inc({ stream: ack.stream, outcome: ack.duplicate ? 'duplicate' : 'stored' });
        return ack;
      } finally {
        slots.release();
      }
    } catch (err) {
      metrics?.errors.inc({ reason: publishErrorReason(err) });
      throw err;
    }
  };

  return {
    publish,
    publishAll: (messages) => Promise.allSettled(messages.map((m) => publish(m.subject, m.data, m))),
    flush: () => slots.idle(),
    close: async () => {
      closed = true;
      await slots.idle();
    },
    get inFlight() {
      return slots.held;
    },
    get waiting() {
      return slots.waiting;
    },
  };
}
