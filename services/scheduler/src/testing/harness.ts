/**
 * Test support: an in-process scheduler on the file's database and namespace with fast
 * settings, and a protocol peer that behaves as a worker would — it beats, pulls dispatches,
 * claims and finishes jobs through the store — so the scheduler is exercised over the real NATS
 * and PostgreSQL without a worker process.
 */
import { randomUUID } from 'node:crypto';
import { jetstream, type JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders, type Subscription } from '@nats-io/transport-node';
import { type CommandKind, Dispatch, dispatchConsumer, type Heartbeat, type Names } from '@gantry/contracts';
import { createLogger, createMetrics, ensureConsumer, type Metrics } from '@gantry/runtime';
import { createPool, JobWriter, type Pool, type WriteResult } from '@gantry/store';
import type { TestNamespace } from '@gantry/testkit';
import { createScheduler, type Scheduler, type SchedulerSettings } from '../scheduler.js';

export const FAST: SchedulerSettings = {
  leaseMs: 1_500,
  renewMs: 200,
  dispatchIntervalMs: 50,
  dispatchBatch: 500,
  agingSecondsPerPoint: 0,
  expressPriority: 80,
  workspaceMaxRunning: 1_000,
  reconcileIntervalMs: 100,
  pendingGraceMs: 60_000,
  unclaimedRedispatchMs: 150_000,
  cancelResendMs: 300,
  timeoutGraceMs: 60_000,
  workerLostMs: 1_500,
  commandSigningKey: '',
  commandPreviousSigningKey: '',
};

export interface Harness {
  pool: Pool;
  scheduler: Scheduler;
  /** The scheduler's metrics registry. */
  metrics: Metrics;
  stop(): Promise<void>;
}

/** Starts a scheduler in-process and waits until it leads (unless `standby`: another one leads). */
export async function startScheduler(
  url: string,
  ns: TestNamespace,
  settings: Partial<SchedulerSettings> = {},
  { standby = false }: { standby?: boolean } = {},
): Promise<Harness> {
  const pool = createPool(url, { max: 6, applicationName: 'scheduler-test' });
  const logger = createLogger({ service: 'scheduler-test', version: '0', level: 'silent' });
  const metrics = createMetrics({ service: 'scheduler', version: '0' });
  const scheduler = createScheduler({ pool, nc: ns.nc, names: ns.names, logger, metrics, settings: { ...FAST, ...settings } });
  for (const c of scheduler.components) await c.start();
  if (!standby) await waitFor(() => scheduler.leadership.lease !== null, 10_000, 'leadership');
  return {
    pool,
    scheduler,
    metrics,
    async stop() {
      for (const c of [...scheduler.components].reverse()) await c.stop({ timeoutMs: 10_000 });
      await pool.end();
    },
  };
}

/** Polls `check` every 20 ms until it holds; throws after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Provisions the dispatch consumer of pool `name` and returns the name: a pool of the test's
 * own, so that no other test's workers (live for WORKER_LOST_MS after they stop, and then lost,
 * their jobs queued again) and backlog take part in its rounds.
 */
export async function ownPool(ns: TestNamespace, name: string): Promise<string> {
  await ensureConsumer(ns.jsm, dispatchConsumer(ns.names, name));
  return name;
}

/** Publishes a command the way another service would. */
export async function publishCommand(ns: TestNamespace, kind: CommandKind, body: unknown, headers: Record<string, string> = {}): Promise<void> {
  const js = jetstream(ns.nc);
  const data = typeof body === 'string' ? body : JSON.stringify(body);
  const h = natsHeaders();
  for (const [k, v] of Object.entries(headers)) h.set(k, v);
  const id = typeof body === 'object' && body !== null && 'id' in body ? String((body as { id: unknown }).id) : randomUUID();
  await js.publish(ns.names.subjects.command(kind), data, { msgID: id, headers: h });
}

/**
 * A worker as the scheduler sees one: beats with `slots`, pulls dispatches, and claims (and,
 * when asked, finishes) each job through the store, exactly as the protocol says. With
 * `express` slots it also answers express dispatches: with a free one it claims the job and
 * answers whether the claim went through; full (or whatever its room, with `refuseExpress`) it
 * refuses at once, and with `refuseExpress: 'unsubscribed'` nobody answers.
 */
export class FakeWorker {
  readonly workerId = `fake-${randomUUID().slice(0, 8)}`;
  readonly dispatches: Dispatch[] = [];
  readonly expressDispatches: Dispatch[] = [];
  /** Express dispatches it refused. */
  readonly refused: Dispatch[] = [];
  readonly #running = new Map<string, number>();
  readonly #express = new Map<string, number>();
  #expressSub: Subscription | undefined;
  readonly #writer: JobWriter;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  #pulling: Promise<void> | undefined;

  constructor(
    private readonly ns: TestNamespace,
    pool: Pool,
    private readonly slots: number,
    private readonly opts: {
      finish?: boolean;
      pool?: string;
      express?: number;
      refuseExpress?: boolean | 'unsubscribed';
      beatEveryMs?: number;
      /** Beats as soon as it takes an express slot, before it claims and answers (as a worker's change beat often arrives). */
      beatBeforeAnswer?: boolean;
    } = {},
  ) {
    this.#writer = new JobWriter({ pool });
  }

  get names(): Names {
    return this.ns.names;
  }

  beat(): void {
    const beat: Heartbeat = {
      v: 1,
      workerId: this.workerId,
      pool: this.opts.pool ?? 'default',
      slots: this.slots,
      busy: this.#running.size,
      jobs: [...this.#running, ...this.#express].map(([jobId, attempt]) => ({ jobId, attempt })),
      draining: false,
      ...(this.opts.express === undefined ? {} : { express: { slots: this.opts.express, busy: this.#express.size } }),
      version: 'test',
      startedAt: new Date().toISOString(),
      at: new Date().toISOString(),
    };
    this.ns.nc.publish(this.ns.names.subjects.heartbeat(this.workerId), JSON.stringify(beat));
  }

  /** Beats every 200 ms (`beatEveryMs`) and pulls dispatches (and answers express ones) until stopped. */
  start(): void {
    if (this.opts.express !== undefined && this.opts.refuseExpress !== 'unsubscribed') {
      this.#expressSub = this.ns.nc.subscribe(this.ns.names.subjects.express(this.workerId), {
        callback: (_err, msg) => {
          const d = Dispatch.parse(msg.json());
          if (this.opts.refuseExpress || this.#express.size >= this.opts.express!) {
            this.refused.push(d);
            msg.respond(JSON.stringify({ v: 1, accepted: false, reason: 'full' }));
            return;
          }
          this.#express.set(d.jobId, d.attempt);
          this.expressDispatches.push(d);
          if (this.opts.beatBeforeAnswer) this.beat();
          // As a worker does: the answer once the claim is decided.
          void this.#claim(d).then((claimed) => {
            msg.respond(JSON.stringify(claimed ? { v: 1, accepted: true } : { v: 1, accepted: false, reason: 'unclaimed' }));
            if (claimed) return;
            this.#express.delete(d.jobId);
            this.beat();
          });
        },
      });
    }
    this.beat();
    this.#timer = setInterval(() => this.beat(), this.opts.beatEveryMs ?? 200);
    this.#pulling = this.#pull();
  }

  async #pull(): Promise<void> {
    const consumer = await jetstream(this.ns.nc).consumers.get(this.ns.names.streams.dispatch, this.ns.names.consumers.dispatch(this.opts.pool ?? 'default'));
    while (!this.#stopped) {
      if (this.#running.size >= this.slots) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const msg = await consumer.next({ expires: 1_000 });
      if (msg) await this.#take(msg);
    }
  }

  async #take(msg: JsMsg): Promise<void> {
    const d = Dispatch.parse(msg.json());
    this.dispatches.push(d);
    const claimed = await this.#claim(d);
    msg.ack();
    if (!claimed) return;
    this.#running.set(d.jobId, d.attempt);
    if (this.opts.finish) await this.finish(d.jobId);
  }

  async #claim(d: Dispatch): Promise<boolean> {
    const claim = await this.#writer.write({
      jobId: d.jobId,
      attempt: d.attempt,
      expect: ['QUEUED'],
      to: 'RUNNING',
      set: { workerId: this.workerId, startedAt: 'now', deadlineAt: null },
      events: [{ type: 'job.started', actor: `worker:${this.workerId}`, payload: { attempt: d.attempt, workerId: this.workerId } }],
    });
    return claim.applied;
  }

  /** Completes a job this worker holds and frees its slot (beating at once, as workers do). */
  async finish(jobId: string): Promise<WriteResult> {
    const attempt = this.#running.get(jobId) ?? this.#express.get(jobId);
    if (attempt === undefined) throw new Error(`${this.workerId} does not hold ${jobId}`);
    const result = await this.#writer.write({
      jobId,
      attempt,
      expect: ['RUNNING'],
      to: 'COMPLETED',
      set: { completedAt: 'now', workerId: null, progress: 100 },
      events: [{ type: 'job.completed', actor: `worker:${this.workerId}`, payload: { durationMs: 1, result: null } }],
    });
    this.#running.delete(jobId);
    this.#express.delete(jobId);
    this.beat();
    return result;
  }

  /** Stops beating and pulling (a dead worker, as far as the scheduler can tell). */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#expressSub?.unsubscribe();
    clearInterval(this.#timer);
    await this.#pulling;
    await this.#writer.stop();
  }
}
