/**
 * The live workers, as heard on `<ns>.ctl.heartbeat.*` (core NATS): the last beat of each
 * worker, kept while it is younger than the liveness window (the contracts' `lostAfterMs`).
 * Nothing is stored; after a restart the view fills again within one heartbeat interval.
 * A beat that does not parse is dropped (and logged at debug).
 *
 * A worker's beat lists the jobs it runs, which may belong to any workspace; the view answers
 * only counts, never those job ids.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Heartbeat, HeartbeatPolicy, type Names } from '@gantry/contracts';
import { aborted, startStop, type Component, type Logger, withViews } from '@gantry/runtime';
import type { z } from 'zod';
import type { WorkersView } from './schemas.js';

/** Options of {@link createHeartbeatView}. */
export interface HeartbeatViewOptions {
  readonly nc: NatsConnection;
  readonly names: Names;
  readonly logger: Logger;
  /** How long a worker stays listed after its last beat; default `HeartbeatPolicy.lostAfterMs`. */
  readonly liveMs?: number;
  readonly now?: () => number;
}

/** The live workers; a lifecycle component (it holds a subscription). */
export interface HeartbeatView extends Component {
  /** Workers heard within the liveness window, and totals per pool. */
  snapshot(): z.infer<typeof WorkersView>;
  /** Resolves once a beat of `workerId` has been recorded (a signal for tests). */
  seen(workerId: string): Promise<void>;
}

interface Beat {
  readonly beat: Heartbeat;
  readonly at: number;
}

/** Builds the view; `start()` subscribes, `stop()` unsubscribes. */
export function createHeartbeatView(opts: HeartbeatViewOptions): HeartbeatView {
  const liveMs = opts.liveMs ?? HeartbeatPolicy.lostAfterMs;
  const now = opts.now ?? Date.now;
  const logger = opts.logger.child({ component: 'heartbeats' });
  const beats = new Map<string, Beat>();
  const waiters = new Map<string, (() => void)[]>();
  let sub: Subscription | undefined;

  const record = (data: Uint8Array) => {
    let beat: Heartbeat;
    try {
      beat = Heartbeat.parse(JSON.parse(new TextDecoder().decode(data)));
    } catch (err) {
      logger.debug({ err }, 'dropped a heartbeat that does not parse');
      return;
    }
    // A worker process beats under an id of its own: a new one is the time to forget those gone
    // silent, or the map would keep every worker that ever ran unless someone asked for the view.
    if (!beats.has(beat.workerId)) forgetSilent();
    beats.set(beat.workerId, { beat, at: now() });
    for (const resolve of waiters.get(beat.workerId) ?? []) resolve();
    waiters.delete(beat.workerId);
  };

  const forgetSilent = () => {
    const cutoff = now() - liveMs;
    for (const [id, b] of beats) if (b.at < cutoff) beats.delete(id);
  };

  const live = (): Beat[] => {
    forgetSilent();
    return [...beats.values()].sort((a, b) => a.beat.workerId.localeCompare(b.beat.workerId));
  };

  const component = startStop({
    name: 'heartbeats',
    setup: async () => {
      sub = opts.nc.subscribe(opts.names.subjects.heartbeatsAll, { callback: (err, msg) => (err ? undefined : record(msg.data)) });
    },
    run: async (signal) => {
      await aborted(signal);
      sub?.unsubscribe();
      sub = undefined;
    },
  });

  return withViews(component, {
    snapshot() {
      const workers = live().map(({ beat, at }) => ({
        workerId: beat.workerId,
        pool: beat.pool,
        slots: beat.slots,
        busy: beat.busy,
        draining: beat.draining,
        version: beat.version,
        startedAt: beat.startedAt,
        lastSeenAt: new Date(at).toISOString(),
      }));
      const pools = new Map<string, { pool: string; workers: number; slots: number; busy: number }>();
      for (const w of workers) {
        const p = pools.get(w.pool) ?? { pool: w.pool, workers: 0, slots: 0, busy: 0 };
        p.workers += 1;
        p.slots += w.slots;
        p.busy += w.busy;
        pools.set(w.pool, p);
      }
      return { workers, pools: [...pools.values()].sort((a, b) => a.pool.localeCompare(b.pool)) };
    },
    seen(workerId: string): Promise<void> {
      if (beats.has(workerId)) return Promise.resolve();
      return new Promise<void>((resolve) => waiters.set(workerId, [...(waiters.get(workerId) ?? []), resolve]));
    },
  });
}
