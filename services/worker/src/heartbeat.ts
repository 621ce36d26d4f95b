/**
 * Heartbeats, both kinds (docs/protocol.md, "Messages"):
 * - the liveness beat on core NATS (`<ns>.ctl.heartbeat.<workerId>`) every
 *   `HeartbeatPolicy.intervalMs`, and soon after the busy count changes (at most one extra beat
 *   per {@link CHANGE_BEAT_GAP_MS}), so the scheduler's free-slot credit follows the worker
 *   closely (express slots too, when the worker has any); a last beat with `draining: true`
 *   when the worker stops;
 * - in-progress acks (`msg.working()`) of every held dispatch, every third of the consumer's
 *   ack wait, so that a long attempt is not redelivered.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { type Heartbeat, HeartbeatPolicy, type Names } from '@gantry/contracts';
import { delay, type Logger, startStop, type StartStopComponent, withViews } from '@gantry/runtime';
import type { InFlight } from './in-flight.js';
import type { Slots } from './slots.js';

/** Least milliseconds between an extra beat and the previous one. */
export const CHANGE_BEAT_GAP_MS = 50;

/** Options of {@link createHeartbeat}. */
export interface HeartbeatOptions {
  readonly nc: NatsConnection;
  readonly names: Names;
  readonly workerId: string;
  readonly pool: string;
  readonly version: string;
  readonly slots: Slots;
  /** The express slots, when the worker has any. */
  readonly express?: Slots;
  readonly inFlight: InFlight;
  readonly draining: () => boolean;
  /** The dispatch consumer's effective ack wait, read when the heartbeat starts. */
  readonly ackWaitMs: () => number;
  readonly logger: Logger;
  readonly intervalMs?: number;
}

/** The heartbeat component. */
export interface HeartbeatComponent extends StartStopComponent {
  /** Beats soon (coalesced); for changes of the busy count or draining. */
  beatSoon(): void;
  /** Beats now. */
  beat(): void;
}

/** Builds the heartbeat; see the module doc. */
export function createHeartbeat(opts: HeartbeatOptions): HeartbeatComponent {
  const subject = opts.names.subjects.heartbeat(opts.workerId);
  const startedAt = new Date().toISOString();
  const intervalMs = opts.intervalMs ?? HeartbeatPolicy.intervalMs;
  let soon: NodeJS.Timeout | undefined;
  let lastBeat = 0;
  let running = false;

  const beat = () => {
    clearTimeout(soon);
    soon = undefined;
    lastBeat = Date.now();
    const hb: Heartbeat = {
      v: 1,
      workerId: opts.workerId,
      pool: opts.pool,
      slots: opts.slots.offered,
      busy: opts.slots.busy,
      jobs: opts.inFlight.jobs(),
      draining: opts.draining(),
      // Express slots all withheld: none offered (a beat's express slots are one at least).
      ...(opts.express === undefined || opts.express.offered === 0 ? {} : { express: { slots: opts.express.offered, busy: opts.express.busy } }),
      version: opts.version,
      startedAt,
      at: new Date(lastBeat).toISOString(),
    };
    try {
      opts.nc.publish(subject, JSON.stringify(hb));
    } catch (err) {
      opts.logger.warn({ err }, 'heartbeat not sent');
    }
  };

  const beatSoon = () => {
    if (!running || soon !== undefined) return;
    soon = setTimeout(beat, Math.max(0, lastBeat + CHANGE_BEAT_GAP_MS - Date.now()));
  };

  const workingLoop = async (signal: AbortSignal) => {
    const every = Math.max(100, Math.floor(opts.ackWaitMs() / 3));
    while (await delay(every, signal)) {
      // One that cannot be sent (the connection closing) must not end the loop, and the service with it.
      for (const entry of opts.inFlight) {
        try {
          entry.msg.working();
        } catch (err) {
          opts.logger.warn({ err, jobId: entry.jobId }, 'in-progress ack not sent');
        }
      }
    }
  };

  const component = startStop({
    name: 'heartbeat',
    setup: async () => {
      running = true;
      beat();
    },
    run: async (signal) => {
      const working = workingLoop(signal);
      while (await delay(intervalMs, signal)) beat();
      await working;
      running = false;
      beat();
    },
  });

  return withViews(component, {
    beatSoon,
    beat,
  });
}
