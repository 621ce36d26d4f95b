/**
 * Leader election on the lease (see `lease.ts`). Every replica runs this component; the one that
 * holds the lease runs the leader's work (`onLeader`) under a signal that aborts when the lease
 * is lost, not renewed in time, or given up on stop. A standby keeps trying to take the lease
 * every `renewMs`, so after the leader dies a standby leads within about `leaseMs + renewMs`.
 *
 * ```
 *  standby ──acquire ok──► leader ──renew fails / lease expired / stop──► standby
 *                            └─ onLeader(lease, signal) runs while here
 * ```
 */
import { delay, type Logger, startStop, type StartStopComponent } from '@gantry/runtime';
import type { Pool } from '@gantry/store';
import { acquireLease, type Lease, releaseLease, renewLease } from './lease.js';

export interface LeadershipOptions {
  pool: Pool;
  /** The lease row's name (one per partition). */
  name: string;
  /** This replica's identity. */
  holder: string;
  leaseMs: number;
  renewMs: number;
  logger: Logger;
  /** The leader's work; must return soon after `signal` aborts. A rejection fails the component. */
  onLeader: (lease: Lease, signal: AbortSignal) => Promise<void>;
  /** Called on every change: the new lease, or null when leadership ends. */
  onChange?: (lease: Lease | null) => void;
}

export interface Leadership extends StartStopComponent {
  /** The lease while this replica leads, else null. */
  readonly lease: Lease | null;
}

export function createLeadership(opts: LeadershipOptions): Leadership {
  const logger = opts.logger.child({ component: 'leadership' });
  let lease: Lease | null = null;

  const run = async (signal: AbortSignal): Promise<void> => {
    let work: { controller: AbortController; done: Promise<void> } | undefined;
    let renewedAt = 0;
    const stepDown = async (reason: string) => {
      if (!lease) return;
      const ended = lease;
      lease = null;
      work?.controller.abort(new Error(reason));
      await work?.done;
      work = undefined;
      // Stopping is the normal end of a term; any other reason is worth a warning.
      if (reason === 'stopping') logger.info({ term: ended.term, reason }, 'stepped down');
      else logger.warn({ term: ended.term, reason }, 'stepped down');
      opts.onChange?.(null);
      await releaseLease(opts.pool, ended).catch(() => {});
    };

    try {
      while (!signal.aborted) {
        try {
          if (!lease) {
            const term = await acquireLease(opts.pool, opts.name, opts.holder, opts.leaseMs);
            if (term !== null) {
              lease = { name: opts.name, holder: opts.holder, term };
              renewedAt = Date.now();
              logger.info({ term }, 'elected leader');
              opts.onChange?.(lease);
              const controller = new AbortController();
              const held = lease;
              work = {
                controller,
                done: opts.onLeader(held, AbortSignal.any([signal, controller.signal])),
              };
              // A failure of the leader's work ends this loop, and the component, below.
              work.done.catch(() => controller.abort());
            }
          } else if (await renewLease(opts.pool, lease, opts.leaseMs)) {
            renewedAt = Date.now();
          } else {
            await stepDown('lease lost');
          }
        } catch (err) {
          logger.error({ err }, 'lease round failed');
          if (lease && Date.now() - renewedAt >= opts.leaseMs) await stepDown('lease not renewed in time');
        }
        if (work) {
          const failed = await Promise.race([work.done.then(() => false, () => true), delay(opts.renewMs, signal).then(() => false)]);
          if (failed) await work.done; // rethrows the leader's failure
        } else {
          await delay(opts.renewMs, signal);
        }
      }
    } finally {
      await stepDown('stopping');
    }
  };

  const component = startStop({ name: 'leadership', run });
  Object.defineProperty(component, 'lease', { get: () => lease, enumerable: true });
  return component as Leadership;
}
