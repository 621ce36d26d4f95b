/**
 * Listens for cancel signals (`<ns>.ctl.cancel.<workerId>`, core NATS) and hands each to the
 * attempt it names, at once: the running step is aborted within the time its handler takes
 * to stop (a process group gets SIGTERM immediately). A signal for an attempt this worker does
 * not hold is ignored; the scheduler re-sends it while the job stays RUNNING.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { CancelSignal, type Names } from '@gantry/contracts';
import { aborted, type Logger, startStop, type StartStopComponent } from '@gantry/runtime';
import type { InFlight } from './in-flight.js';

/** Options of {@link createCancelListener}. */
export interface CancelListenerOptions {
  readonly nc: NatsConnection;
  readonly names: Names;
  readonly workerId: string;
  readonly inFlight: InFlight;
  readonly logger: Logger;
}

/** Builds the cancel listener; see the module doc. */
export function createCancelListener(opts: CancelListenerOptions): StartStopComponent {
  const logger = opts.logger.child({ component: 'cancel-listener' });
  let sub: Subscription | undefined;
  return startStop({
    name: 'cancel-listener',
    setup: async () => {
      sub = opts.nc.subscribe(opts.names.subjects.cancel(opts.workerId), {
        callback: (err, msg) => {
          if (err) {
            logger.warn({ err }, 'cancel subscription error');
            return;
          }
          let signal: CancelSignal;
          try {
            signal = CancelSignal.parse(msg.json());
          } catch (parseErr) {
            logger.warn({ err: parseErr }, 'invalid cancel signal ignored');
            return;
          }
          const entry = opts.inFlight.get(signal.jobId, signal.attempt);
          if (!entry) {
            logger.debug({ jobId: signal.jobId, attempt: signal.attempt }, 'cancel signal for an attempt not held here');
            return;
          }
          logger.info({ jobId: signal.jobId, attempt: signal.attempt, reason: signal.reason }, 'cancel signal');
          entry.signal(signal.reason === 'timeout' ? 'timeout' : 'cancel');
        },
      });
      await opts.nc.flush();
    },
    run: async (signal) => {
      await aborted(signal);
      sub?.unsubscribe();
      sub = undefined;
    },
  });
}
