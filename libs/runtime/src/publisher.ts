/**
 * The asynchronous JetStream publisher every hot path publishes through. Publishes are sent
 * without waiting for earlier acknowledgements, up to a bound on how many await their PubAck
 * (256 by default: measured here as the sweet spot, more in flight is slower). Beyond the bound,
 * `publish()` waits for a slot, in call order, so a producer cannot outrun the server.
 *
 * Publish many messages by starting every `publish()` and then awaiting them together (or
 * with {@link Publisher.publishAll}); awaiting each publish in a loop costs a round trip per
 * message, which is the performance bug this module exists to avoid.
 *
 * PubAcks come back on one subscription of the publisher's own (`<inbox>.<n>` per message), not
 * as one client request per message: a request costs a timer, a muxed reply entry and, in the
 * client's clean-up, an `Error` with a stack per message, which made the scheduler's dispatch
 * publishes one of its largest costs. One sweep times out the publishes that waited longer than
 * `timeoutMs`; a dropped or closed connection fails those still waiting.
 */
import { JetStreamApiError, type PubAck } from '@nats-io/jetstream';
import { createInbox, headers as natsHeaders, type Msg, type NatsConnection } from '@nats-io/transport-node';
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

/** Why a publish waited no longer: classified like the client's own errors (see {@link publishErrorReason}). */
class PublishError extends Error {
  constructor(
    override readonly name: 'TimeoutError' | 'NoRespondersError' | 'ClosedConnectionError',
    message: string,
  ) {
    super(message);
  }
}

interface Waiting {
  readonly resolve: (ack: PubAck) => void;
  readonly reject: (err: unknown) => void;
  readonly sentAt: number;
}

/** HTTP-like status of a reply the server sends itself (503: nobody listens on the subject). */
function statusOf(msg: Msg): number | undefined {
  return msg.headers?.hasError ? msg.headers.code : undefined;
}

const decoder = new TextDecoder();

/** Builds a publisher on `nc`. */
export function createPublisher(nc: NatsConnection, opts: PublisherOptions = {}): Publisher {
  const slots = new Semaphore(opts.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT);
  const timeout = opts.timeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
  const metrics = counters(opts.registry);
  const inbox = createInbox();
  const waiting = new Map<string, Waiting>();
  let next = 0;
  let closed = false;
  let sweeper: NodeJS.Timeout | undefined;

  const settle = (token: string, outcome: { ack: PubAck } | { err: unknown }) => {
    const w = waiting.get(token);
    if (!w) return; // answered after its timeout
    waiting.delete(token);
    if ('ack' in outcome) w.resolve(outcome.ack);
    else w.reject(outcome.err);
    if (waiting.size === 0) stopSweeping();
  };
  const failAll = (err: () => Error) => {
    for (const token of [...waiting.keys()]) settle(token, { err: err() });
  };

  const acks = nc.subscribe(`${inbox}.*`, {
    callback: (err, msg) => {
      if (err) return;
      const token = msg.subject.slice(inbox.length + 1);
      if (statusOf(msg) === 503) {
        settle(token, { err: new PublishError('NoRespondersError', `no stream listens on ${msg.subject}`) });
        return;
      }
      let answer: { stream?: string; seq?: number; duplicate?: boolean; domain?: string; error?: { code: number; err_code: number; description: string } };
      try {
        answer = JSON.parse(decoder.decode(msg.data));
      } catch (cause) {
        settle(token, { err: new Error('invalid PubAck', { cause }) });
        return;
      }
      if (answer.error) settle(token, { err: new JetStreamApiError(answer.error) });
      else if (!answer.stream) settle(token, { err: new Error('invalid PubAck: no stream') });
      else settle(token, { ack: { stream: answer.stream, seq: answer.seq ?? 0, duplicate: answer.duplicate === true, domain: answer.domain } as PubAck });
    },
  });
  void nc.closed().then(() => failAll(() => new PublishError('ClosedConnectionError', 'the NATS connection closed')));
  // A PubAck owed when the connection drops is lost with it: fail those publishes now, as the
  // client fails its requests, rather than at their timeout. Whether they were stored is
  // unknown; a retry with the same msgId is safe. (The loop ends when the connection closes.)
  void (async () => {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') failAll(() => new PublishError('ClosedConnectionError', 'the NATS connection dropped'));
    }
  })();

  const sweep = () => {
    const expired = Date.now() - timeout;
    for (const [token, w] of waiting) {
      if (w.sentAt > expired) break; // in send order: the rest are younger
      settle(token, { err: new PublishError('TimeoutError', `no PubAck within ${timeout} ms`) });
    }
  };
  const startSweeping = () => {
    sweeper ??= setInterval(sweep, Math.max(10, Math.min(1_000, timeout / 4)));
    sweeper.unref();
  };
  function stopSweeping() {
    clearInterval(sweeper);
    sweeper = undefined;
  }

  const send = (subject: string, data: Uint8Array | string, o: PublishOptions): Promise<PubAck> =>
    new Promise<PubAck>((resolve, reject) => {
      const hdrs = natsHeaders();
      if (o.msgId !== undefined) hdrs.set('Nats-Msg-Id', o.msgId);
      for (const [k, v] of Object.entries(o.headers ?? {})) hdrs.set(k, v);
      const token = String((next += 1));
      waiting.set(token, { resolve, reject, sentAt: Date.now() });
      startSweeping();
      try {
        nc.publish(subject, data, { reply: `${inbox}.${token}`, headers: hdrs });
      } catch (err) {
        settle(token, { err });
      }
    });

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
      stopSweeping();
      if (!nc.isClosed()) acks.unsubscribe();
    },
    get inFlight() {
      return slots.held;
    },
    get waiting() {
      return slots.waiting;
    },
  };
}
