/**
 * What the scheduler knows of the workers: their heartbeats (core NATS, every second and on
 * every change of their busy count). A worker silent for `lostAfterMs` is lost. Every replica
 * listens, so a new leader starts with a warm view.
 *
 * Silence means something only while beats can arrive: while this replica's NATS connection is
 * down no worker is heard, however well it runs. {@link WorkerRegistry.hearingSince} says since
 * when beats have been able to arrive, so that nobody is judged lost by this replica's own
 * outage (the lost-worker recovery waits `lostAfterMs` after a reconnect, as after an election).
 *
 * A worker silent for `lostAfterMs` is also forgotten, at the next periodic count: every
 * replica, standbys included, hears every worker process that ever ran (an id per process), and
 * would otherwise keep them all. The lost-worker recovery does not need them: it asks which
 * workers are live, and requeues the RUNNING jobs of every other.
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import { Heartbeat, type Names } from '@gantry/contracts';
import type { Logger } from '@gantry/runtime';

/** A worker as last heard. */
export interface WorkerView {
  readonly workerId: string;
  readonly pool: string;
  readonly slots: number;
  readonly busy: number;
  readonly draining: boolean;
  /** Its express slots, when it has any. */
  readonly express?: { readonly slots: number; readonly busy: number };
  readonly jobs: readonly { jobId: string; attempt: number }[];
  /** `Date.now()` when its last beat arrived. */
  readonly seenAt: number;
}

export interface WorkerRegistryOptions {
  nc: NatsConnection;
  names: Names;
  lostAfterMs: number;
  logger: Logger;
  /** Called for every beat (after it is recorded) with the worker's view before it; the dispatcher wakes on freed slots. */
  onBeat?: (worker: WorkerView, previous: WorkerView | undefined) => void;
  /**
   * Called with the live workers of every pool ever heard from (0 for a pool whose workers all
   * went silent) after every beat and every {@link COUNT_INTERVAL_MS}: the live-workers gauge.
   */
  onCount?: (liveByPool: ReadonlyMap<string, number>) => void;
}

/** How often the live counts are reported when no beat arrives. */
export const COUNT_INTERVAL_MS = 1_000;

/** How long {@link WorkerRegistry.checkHearing}'s round trip may take before the connection counts as stalled. */
const HEARING_CHECK_MS = 1_000;

export class WorkerRegistry {
  readonly name = 'worker-registry';
  readonly #opts: WorkerRegistryOptions;
  readonly #workers = new Map<string, WorkerView>();
  readonly #pools = new Set<string>();
  #sub: Subscription | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Since when beats can arrive; undefined while the connection is down (or before start). */
  #hearingSince: number | undefined;

  constructor(opts: WorkerRegistryOptions) {
    this.#opts = opts;
  }

  async start(): Promise<void> {
    if (this.#sub) return;
    const sub = this.#opts.nc.subscribe(this.#opts.names.subjects.heartbeatsAll, {
      callback: (err, msg) => {
        if (err) return;
        const parsed = Heartbeat.safeParse(safeJson(msg.data));
        if (!parsed.success) {
          this.#opts.logger.warn({ subject: msg.subject }, 'ignored a malformed heartbeat');
          return;
        }
        const beat = parsed.data;
        const view: WorkerView = { ...beat, seenAt: Date.now() };
        const previous = this.#workers.get(beat.workerId);
        this.#workers.set(beat.workerId, view);
        this.#pools.add(beat.pool);
        this.#opts.onBeat?.(view, previous);
        this.#count();
      },
    });
    this.#sub = sub;
    this.#timer = setInterval(() => {
      this.forgetLost();
      this.#count();
    }, COUNT_INTERVAL_MS);
    this.#timer.unref();
    await this.#opts.nc.flush();
    this.#hearingSince = Date.now();
    void this.#watchConnection(sub);
  }

  /** Follows the connection: deaf from a disconnect until the reconnect (the loop ends when the connection closes). */
  async #watchConnection(sub: Subscription): Promise<void> {
    for await (const status of this.#opts.nc.status()) {
      if (this.#sub !== sub) return;
      if (status.type === 'disconnect') this.#hearingSince = undefined;
      else if (status.type === 'reconnect') this.#hearingSince = Date.now();
    }
  }

  /**
   * Checks the connection with a round trip of at most `timeoutMs`, and returns
   * {@link hearingSince}. A connection that stalls without closing (a server that hangs, a
   * network that drops packets rather than resetting) reports no disconnect until its pings go
   * unanswered, a minute or more, while no beat arrives: every worker would look lost. So an
   * unanswered round trip makes this replica deaf from now, and the first answered one after it
   * hearing again from then.
   */
  async checkHearing(timeoutMs = HEARING_CHECK_MS): Promise<number | undefined> {
    let timer: NodeJS.Timeout | undefined;
    const answered = await Promise.race([
      this.#opts.nc.rtt().then(() => true, () => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs))),
    ]);
    clearTimeout(timer);
    if (!answered) this.#hearingSince = undefined;
    else this.#hearingSince ??= Date.now();
    return this.#hearingSince;
  }

  /**
   * Since when (`Date.now()`) beats have been able to reach this replica without a break in its
   * NATS connection; undefined while the connection is down (or stalled: {@link checkHearing}).
   * A worker silent for `lostAfterMs` is lost only once this is at least `lostAfterMs` ago.
   */
  hearingSince(): number | undefined {
    return this.#hearingSince;
  }

  async stop(): Promise<void> {
    this.#sub?.unsubscribe();
    this.#sub = undefined;
    this.#hearingSince = undefined;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Live workers of every pool ever heard from. */
  liveByPool(now = Date.now()): Map<string, number> {
    const counts = new Map([...this.#pools].map((p) => [p, 0]));
    for (const w of this.live(now)) counts.set(w.pool, (counts.get(w.pool) ?? 0) + 1);
    return counts;
  }

  #count(): void {
    this.#opts.onCount?.(this.liveByPool());
  }

  /** Workers heard from within `lostAfterMs`. */
  live(now = Date.now()): WorkerView[] {
    return [...this.#workers.values()].filter((w) => now - w.seenAt < this.#opts.lostAfterMs);
  }

  /** True when `workerId` beat within `lostAfterMs`. */
  isLive(workerId: string, now = Date.now()): boolean {
    const w = this.#workers.get(workerId);
    return w !== undefined && now - w.seenAt < this.#opts.lostAfterMs;
  }

  /** Forgets workers silent for longer than `lostAfterMs` and returns their ids. */
  forgetLost(now = Date.now()): string[] {
    const lost: string[] = [];
    for (const [id, w] of this.#workers) {
      if (now - w.seenAt >= this.#opts.lostAfterMs) {
        this.#workers.delete(id);
        lost.push(id);
      }
    }
    return lost;
  }
}

function safeJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder().decode(data));
  } catch {
    return undefined;
  }
}
