/**
 * The leader's dispatch loop. A round claims, for each pool with live workers, as many jobs as
 * the pool has credit with one set-based statement (which counts the credit too: see
 * `claim-sql.ts`), and publishes their dispatches asynchronously in one batch
 * (`Nats-Msg-Id` `<jobId>:<attempt>`) without waiting for their PubAcks before the next round.
 * A pool whose every worker's last beat shows its slots full has no credit, and its round
 * makes no ordinary claim. Rounds run when something may have changed — a worker freed a slot,
 * jobs were queued — and at least every `intervalMs` (delays and aging need the clock).
 * Wake-ups during a round coalesce into one more round.
 *
 * Rounds never overlap (a direct call to {@link Dispatcher.round} waits for the loop's), and
 * {@link Dispatcher.betweenRounds} runs a change to the credit outside them: a round reads the
 * live workers first and counts their credit in its statement later, so a lost worker's jobs
 * queued again in between would have freed slots on a worker the round still took for live,
 * and the round would have dispatched jobs to nobody.
 *
 * A dispatch whose publish fails is un-marked as soon as its answer comes, so a later round
 * dispatches it again.
 *
 * Jobs can also be dispatched by the commit that queues them ({@link Dispatcher.transaction}):
 * a transaction that takes the rounds' turn, queues jobs, and runs a round's claims before its
 * commit. That spares each job a commit of its own for the claim and the wake-up of the loop in
 * between, and no round can dispatch a job of lower priority while the new ones are queued but
 * not yet visible. It holds back the rounds while it runs, so it is for a submit pass's one
 * statement's worth of jobs, not for a flood's chunks, and its statements wait at most
 * {@link TURN_LOCK_WAIT_MS} for a lock (a row another transaction holds: the work is then done
 * again outside the turn, as it is when the claims fail). Whatever takes the turn takes its connection inside it, so
 * nothing waits for the turn while holding a connection a turn's holder may need.
 *
 * The express lane (docs/protocol.md, "Express dispatches"). When a round leaves a pool without
 * ordinary credit and some of its workers have free express slots (beyond their ordinary ones),
 * a second claim takes jobs of priority `expressPriority` or more, up to that room, and hands
 * each to one such worker by core-NATS request. An urgent job then starts without waiting for
 * a slot to free. The worker answers once its claim of the attempt is decided; a refusal (full,
 * draining, not claimed) or no answer within `expressAnswerMs` un-marks the job, back in the
 * backlog. A worker's express room is what its last beat said, less the requests it has not
 * answered and the ones it accepted since that beat (a beat that arrives after an answer was
 * made after it, so it counts that job), but for those its last beat already lists among its
 * jobs: a worker beats as soon as it takes a slot, often before it answers, and such a beat
 * counts the job in its busy express slots already. A worker that refused or did not answer is
 * asked nothing more until it beats again.
 *
 * Its ordinary credit leaves its express jobs out. Those this leader sent it are known by id
 * until a beat no longer lists them, and count while PostgreSQL shows them RUNNING on it (one
 * that ended before the next beat frees no ordinary slot); the rest of its beat's busy express
 * slots (a previous leader's) count as the beat says.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { type Dispatch, dispatchMsgId, ExpressAnswer, type Names } from '@gantry/contracts';
import type { Logger, Publisher } from '@gantry/runtime';
import { isLockNotAvailable, releaseAfter, type Pool, type PoolClient } from '@gantry/store';
import type { Lease } from '../leadership/lease.js';
import type { SchedulerMetrics } from '../metrics.js';
import type { WorkerRegistry, WorkerView } from '../workers/registry.js';
import { claim, type ClaimedJob, type FreeWorker, unmarkDispatched } from './claim-sql.js';

export interface DispatcherOptions {
  pool: Pool;
  /** Express dispatches are core-NATS requests on it. */
  nc: NatsConnection;
  publisher: Publisher;
  names: Names;
  workers: WorkerRegistry;
  logger: Logger;
  metrics: SchedulerMetrics;
  intervalMs: number;
  batch: number;
  defaultWorkspaceLimit: number;
  agingSecondsPerPoint: number;
  /** Jobs of this priority or more may take express slots. */
  expressPriority: number;
  /** How long a worker has to answer an express dispatch (its claim included). Default 5,000 ms. */
  expressAnswerMs?: number;
}

/** Express dispatches this leader sent one worker, as `<jobId>:<attempt>`. */
interface ExpressPending {
  /** Sent, not answered. */
  readonly requested: Set<string>;
  /** Accepted, and listed by every beat since (a beat that no longer lists one: it ended). */
  readonly accepted: Set<string>;
  /** It refused or did not answer since its last beat: nothing more until the next. */
  full: boolean;
}

const expressKey = (job: { id: string; attempt: number }) => `${job.id}:${job.attempt}`;

/** The dispatch of a claimed job, ordinary or express. */
function dispatchOf(job: ClaimedJob, lease: Lease, at: Date): Dispatch {
  return { v: 1, jobId: job.id, workspaceId: job.workspaceId, attempt: job.attempt, term: lease.term, dispatchedAt: at.toISOString() };
}

/**
 * How long a statement of {@link Dispatcher.transaction} may wait for a lock. While it waits, no
 * round runs; the creations it is for wait for no lock unless something holds a row they need
 * (a workspace locked by hand, the same job id being inserted by another transaction).
 */
export const TURN_LOCK_WAIT_MS = 50;

/** What a try of {@link Dispatcher.transaction} in the rounds' turn answers when it gave up. */
const GAVE_UP: unique symbol = Symbol('gave up');

/** A transaction of {@link Dispatcher.transaction}. */
export interface DispatchingTransaction {
  readonly client: PoolClient;
  /**
   * Tells that the transaction queued jobs, so that a round's claims run in it before its commit,
   * and gives what to do once it has committed (publish their events), which runs in the
   * event-loop turn after its dispatches are sent.
   */
  queued(onCommit: () => void): void;
}

export class Dispatcher {
  readonly #opts: DispatcherOptions;
  #wakeRequested = false;
  #wakeUp: (() => void) | undefined;
  readonly #inFlight = new Set<Promise<unknown>>();
  readonly #express = new Map<string, ExpressPending>();
  /** The pools whose free-slots gauge a round has set, so that one whose workers are all gone is set to 0. */
  readonly #gaugedPools = new Set<string>();
  /** The last round or {@link betweenRounds} call; the next one starts after it settles. */
  #turn: Promise<unknown> = Promise.resolve();

  constructor(opts: DispatcherOptions) {
    this.#opts = opts;
  }

  /** Asks for a round as soon as possible (coalesces). */
  wake(): void {
    this.#wakeRequested = true;
    this.#wakeUp?.();
  }

  /**
   * Takes a worker's beat into the express accounting, and wakes a round when the beat offers
   * ordinary slots or fewer of its express slots are busy than before.
   */
  onBeat(worker: WorkerView, previous: WorkerView | undefined): void {
    const pending = this.#express.get(worker.workerId);
    if (pending) {
      // A beat made after an answer lists its job while the worker holds it (beat and answer
      // travel in order on the worker's one connection).
      const listed = new Set(worker.jobs.map((j) => expressKey({ id: j.jobId, attempt: j.attempt })));
      for (const key of pending.accepted) if (!listed.has(key)) pending.accepted.delete(key);
      pending.full = false;
      if (pending.requested.size === 0 && pending.accepted.size === 0) this.#express.delete(worker.workerId);
    }
    if (worker.draining) return;
    const expressFreed = worker.express !== undefined && worker.express.busy < (previous?.express?.busy ?? worker.express.slots);
    if (worker.busy < worker.slots || expressFreed) this.wake();
  }

  /** Runs rounds while `lease` is held; returns when `signal` aborts. */
  async run(lease: Lease, signal: AbortSignal): Promise<void> {
    const logger = this.#opts.logger.child({ component: 'dispatcher', term: lease.term });
    while (!signal.aborted) {
      this.#wakeRequested = false;
      try {
        const dispatched = await this.round(lease);
        // A full round means more may be waiting for the credit the next beats bring.
        if (dispatched >= this.#opts.batch) this.#wakeRequested = true;
      } catch (err) {
        logger.error({ err }, 'dispatch round failed');
      }
      if (!this.#wakeRequested) await this.#sleep(signal);
    }
    // A creating transaction in the turn may still send dispatches.
    await this.#turn;
    await Promise.allSettled([...this.#inFlight]);
  }

  /** One round, once no other round or {@link betweenRounds} call is running; returns how many jobs it dispatched. */
  round(lease: Lease): Promise<number> {
    return this.#inTurn(() => this.#round(lease));
  }

  /**
   * Runs `fn` while no round runs. For a change that frees a live-looking worker's slots in the
   * database (the lost-worker recovery), which a round already under way would count as credit.
   */
  betweenRounds<T>(fn: () => Promise<T>): Promise<T> {
    return this.#inTurn(fn);
  }

  /**
   * Runs `work` in a transaction that holds the rounds' turn. When it queued jobs (it calls
   * `queued`), a round's claims run in the same transaction, and their dispatches are sent once
   * it has committed, before the `queued` callbacks. If a statement of `work` would
   * wait longer than {@link TURN_LOCK_WAIT_MS} for a lock, or the claims fail, the transaction is
   * rolled back and `work` runs again in one of its own, outside the turn, after which a round
   * is woken for what it queued: the rounds are held back no longer, and a job is not refused
   * for a claim's failure.
   */
  async transaction<T>(lease: Lease, work: (tx: DispatchingTransaction) => Promise<T>): Promise<T> {
    const inTurn = await this.#inTurn(() => this.#transaction(work, lease));
    // Outside the turn a try never gives up.
    return inTurn === GAVE_UP ? ((await this.#transaction(work, undefined)) as T) : inTurn;
  }

  /**
   * One try of {@link transaction}: in the turn with `lease` (claims, a bounded lock wait), else
   * outside it. {@link GAVE_UP} when the try in the turn gave up, rolled back.
   */
  async #transaction<T>(work: (tx: DispatchingTransaction) => Promise<T>, lease: Lease | undefined): Promise<T | typeof GAVE_UP> {
    const client = await this.#opts.pool.connect();
    let failure: unknown;
    const committed: (() => void)[] = [];
    const sends: (() => void)[] = [];
    const giveUp = async (): Promise<typeof GAVE_UP> => {
      await client.query('ROLLBACK');
      return GAVE_UP;
    };
    try {
      // One round trip: a simple query of two statements.
      await client.query(lease === undefined ? 'BEGIN' : `BEGIN; SET LOCAL lock_timeout = ${TURN_LOCK_WAIT_MS}`);
      let result: T;
      try {
        result = await work({ client, queued: (onCommit) => void committed.push(onCommit) });
      } catch (err) {
        if (lease !== undefined && isLockNotAvailable(err)) return await giveUp();
        throw err;
      }
      const queued = committed.length > 0;
      let dispatched = 0;
      if (queued && lease !== undefined) {
        try {
          dispatched = await this.#claimAll(client, lease, (send) => sends.push(send));
        } catch (err) {
          this.#opts.logger.warn({ err }, 'claims in a creating transaction failed; creating without them');
          return await giveUp();
        }
      }
      await client.query('COMMIT');
      for (const send of sends) send();
      // The dispatches first: a worker waits for them, a watcher of the events does not (events
      // are ordered by sequence, not by arrival; docs/protocol.md). Their publishes reach the
      // socket in this turn's microtasks, the events in the next turn.
      if (committed.length > 0) setImmediate(() => this.#afterCommit(committed));
      // Outside the turn nothing was claimed; after a full claim more may be waiting for the
      // credit the next beats bring.
      if ((queued && lease === undefined) || dispatched >= this.#opts.batch) this.wake();
      return result;
    } catch (err) {
      failure = err;
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      releaseAfter(client, failure);
    }
  }

  /** Runs a committed transaction's callbacks; one that throws is logged and does not stop the rest. */
  #afterCommit(callbacks: readonly (() => void)[]): void {
    for (const fn of callbacks) {
      try {
        fn();
      } catch (err) {
        this.#opts.logger.error({ err }, 'a callback after a dispatching commit failed');
      }
    }
  }

  #inTurn<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#turn.then(fn);
    this.#turn = run.catch(() => undefined);
    return run;
  }

  #round(lease: Lease): Promise<number> {
    return this.#claimAll(this.#opts.pool, lease, (send) => send());
  }

  /**
   * Claims for every pool with live workers, on `db`; returns how many jobs it claimed. Each
   * claim's sending is handed to `send`, which sends now (the claim has committed) or once the
   * transaction that holds it has.
   */
  async #claimAll(db: Pool | PoolClient, lease: Lease, send: (go: () => void) => void): Promise<number> {
    const { workers, batch } = this.#opts;
    // The pools with live workers, each with those of its workers that take jobs.
    const pools = new Map<string, WorkerView[]>();
    for (const w of workers.live()) {
      const list = pools.get(w.pool) ?? [];
      pools.set(w.pool, list);
      if (!w.draining) list.push(w);
    }
    // A pool whose last worker stopped beating has no free slots, whatever its last round counted.
    for (const poolName of this.#gaugedPools) {
      if (pools.has(poolName)) continue;
      this.#opts.metrics.freeSlots.set({ pool: poolName }, 0);
      this.#gaugedPools.delete(poolName);
    }
    for (const poolName of pools.keys()) this.#gaugedPools.add(poolName);
    // A worker that stopped beating takes its express accounting with it.
    for (const [workerId, pending] of this.#express) {
      if (pending.requested.size === 0 && !workers.isLive(workerId)) this.#express.delete(workerId);
    }
    let total = 0;
    for (const [poolName, views] of pools) {
      const free: FreeWorker[] = views.map((w) => ({ workerId: w.workerId, slots: w.slots, busy: w.busy, ...this.#expressOf(w) }));
      if (free.length === 0) {
        this.#opts.metrics.freeSlots.set({ pool: poolName }, 0);
        continue;
      }
      // A worker's credit is its slots less the larger of its beat's busy count and the
      // database's (claim-sql.ts): while every beat shows its slots full the pool has none, and
      // the round goes straight to the express lane without a statement that would find so.
      const full = free.every((w) => w.busy >= w.slots);
      const { credit, jobs: claimed } = full
        ? { credit: 0, jobs: [] }
        : await claim(db, lease, {
          pool: poolName,
          limit: batch,
          workers: free,
          defaultWorkspaceLimit: this.#opts.defaultWorkspaceLimit,
          agingSecondsPerPoint: this.#opts.agingSecondsPerPoint,
        });
      this.#opts.metrics.freeSlots.set({ pool: poolName }, credit);
      if (claimed.length > 0) {
        // Sent before the express claim runs (once the claim has committed), and the next round
        // does not wait for their PubAcks: claimed jobs count against the credit (dispatched,
        // not yet claimed) from the moment of the claim, and a failed publish is un-marked when
        // its answer comes.
        send(() => this.#track(this.#publish(poolName, lease, claimed), poolName, 'dispatch publish bookkeeping failed'));
        total += claimed.length;
      }
      // Ordinary credit used up: urgent jobs may still start in express slots.
      if (claimed.length >= credit) total += await this.#expressRound(db, poolName, lease, views, send);
    }
    return total;
  }

  /** Keeps a send's answer and bookkeeping until it settles, so that `run` waits for it; logs its failure. */
  #track(work: Promise<void>, poolName: string, failure: string): void {
    const tracked = work.catch((err: unknown) => this.#opts.logger.error({ err, pool: poolName }, failure));
    this.#inFlight.add(tracked);
    void tracked.finally(() => this.#inFlight.delete(tracked));
  }

  /** The jobs `w` holds in express slots as far as this leader knows: its beat's, and those sent since that it does not list. */
  #expressHeld(w: WorkerView): number {
    if (w.express === undefined) return 0;
    const { listed, sent } = this.#expressSent(w);
    return w.express.busy + sent.length - listed;
  }

  /**
   * What `w`'s ordinary credit leaves out (see the module doc): the busy express slots of its
   * beat that are not among the jobs this leader sent it, and those jobs, which the claim counts
   * while PostgreSQL shows them RUNNING on it.
   */
  #expressOf(w: WorkerView): Pick<FreeWorker, 'express' | 'expressSent'> {
    if (w.express === undefined) return { express: 0, expressSent: [] };
    const { listed, sent } = this.#expressSent(w);
    return { express: Math.max(0, w.express.busy - listed), expressSent: sent };
  }

  /** The jobs this leader sent to `w`'s express slots and knows of (answered or not), and how many of them its beat lists. */
  #expressSent(w: WorkerView): { listed: number; sent: { id: string; attempt: number }[] } {
    const pending = this.#express.get(w.workerId);
    if (pending === undefined) return { listed: 0, sent: [] };
    const listedKeys = new Set(w.jobs.map((j) => expressKey({ id: j.jobId, attempt: j.attempt })));
    let listed = 0;
    const sent: { id: string; attempt: number }[] = [];
    for (const keys of [pending.requested, pending.accepted]) {
      for (const key of keys) {
        if (listedKeys.has(key)) listed += 1;
        const at = key.lastIndexOf(':');
        sent.push({ id: key.slice(0, at), attempt: Number(key.slice(at + 1)) });
      }
    }
    return { listed, sent };
  }

  /** Claims urgent jobs for the pool's free express slots and sends them; returns how many it claimed. */
  async #expressRound(db: Pool | PoolClient, poolName: string, lease: Lease, views: readonly WorkerView[], send: (go: () => void) => void): Promise<number> {
    const room = new Map<string, number>();
    for (const w of views) {
      if (w.express === undefined) continue;
      if (this.#express.get(w.workerId)?.full) continue;
      const n = w.express.slots - this.#expressHeld(w);
      if (n > 0) room.set(w.workerId, n);
    }
    const limit = Math.min(this.#opts.batch, [...room.values()].reduce((a, b) => a + b, 0));
    if (limit === 0) return 0;
    const { jobs } = await claim(db, lease, {
      pool: poolName,
      limit,
      defaultWorkspaceLimit: this.#opts.defaultWorkspaceLimit,
      agingSecondsPerPoint: this.#opts.agingSecondsPerPoint,
      minPriority: this.#opts.expressPriority,
    });
    const assigned = jobs.map((job) => {
      // The worker with the most express room takes the next job.
      const [workerId] = [...room].reduce((best, e) => (e[1] > best[1] ? e : best));
      room.set(workerId, room.get(workerId)! - 1);
      return { job, workerId };
    });
    if (assigned.length > 0) {
      send(() => {
        for (const { job, workerId } of assigned) {
          this.#track(this.#sendExpress(poolName, lease, workerId, job), poolName, 'express dispatch bookkeeping failed');
        }
      });
    }
    return jobs.length;
  }

  /** Sends one express dispatch; un-marks the job when the worker refuses it or does not answer. */
  async #sendExpress(poolName: string, lease: Lease, workerId: string, job: ClaimedJob): Promise<void> {
    const { names, nc, metrics } = this.#opts;
    const pending = this.#express.get(workerId) ?? { requested: new Set<string>(), accepted: new Set<string>(), full: false };
    this.#express.set(workerId, pending);
    const key = expressKey(job);
    pending.requested.add(key);
    const now = new Date();
    let accepted = false;
    try {
      const body = JSON.stringify(dispatchOf(job, lease, now));
      const reply = await nc.request(names.subjects.express(workerId), body, { timeout: this.#opts.expressAnswerMs ?? 5_000 });
      const answer = ExpressAnswer.safeParse(reply.json());
      accepted = answer.success && answer.data.accepted;
    } catch {
      // No answer (the worker is gone or stalled): the job goes back to the backlog.
    } finally {
      pending.requested.delete(key);
      if (accepted) pending.accepted.add(key);
      // A worker that refused or did not answer is asked nothing more before its next beat.
      else pending.full = true;
    }
    if (accepted) {
      this.#observeWait(poolName, job, now);
      metrics.dispatches.inc({ pool: poolName, outcome: 'express' });
      return;
    }
    // Back to the backlog; the next round takes it (in the ordinary lane, or in another worker's express slot).
    metrics.dispatches.inc({ pool: poolName, outcome: 'express_refused' });
    await unmarkDispatched(this.#opts.pool, [job]);
  }

  async #publish(poolName: string, lease: Lease, jobs: readonly ClaimedJob[]): Promise<void> {
    const { names, publisher, metrics } = this.#opts;
    const now = new Date();
    const results = await publisher.publishAll(
      jobs.map((job) => ({
        subject: names.subjects.dispatch(poolName),
        data: JSON.stringify(dispatchOf(job, lease, now)),
        msgId: dispatchMsgId(job.id, job.attempt),
      })),
    );
    const failed = jobs.filter((_, i) => results[i]!.status === 'rejected');
    // A job whose publish failed is un-marked and waits on: its wait ends at a later dispatch.
    jobs.forEach((job, i) => {
      if (results[i]!.status !== 'rejected') this.#observeWait(poolName, job, now);
    });
    metrics.dispatches.inc({ pool: poolName, outcome: 'published' }, jobs.length - failed.length);
    if (failed.length > 0) {
      metrics.dispatches.inc({ pool: poolName, outcome: 'failed' }, failed.length);
      await unmarkDispatched(this.#opts.pool, failed);
      this.#opts.logger.warn({ pool: poolName, failed: failed.length }, 'dispatch publishes failed; jobs un-marked');
    }
  }

  /** Queue wait of a dispatched job: from when it became runnable to its dispatch at `now`. */
  #observeWait(poolName: string, job: ClaimedJob, now: Date): void {
    this.#opts.metrics.queueWait.observe({ pool: poolName }, Math.max(0, (now.getTime() - job.runnableAt.getTime()) / 1000));
  }

  #sleep(signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, this.#opts.intervalMs);
      signal.addEventListener('abort', done, { once: true });
      this.#wakeUp = done;
    });
  }
}
