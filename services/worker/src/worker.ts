/**
 * `createWorker(deps)`: the worker as one lifecycle component, built from plain parts —
 * the dispatch consumer, the express listener (with WORKER_EXPRESS_SLOTS), the step engine,
 * heartbeats, the cancel listener, one group-committing JobWriter whose commits are fanned out
 * to the events stream. `main.ts` builds it from the environment; tests build it in-process
 * against the real PostgreSQL and NATS.
 *
 * Stopping (SIGTERM) drains: stop taking express dispatches and pulling, and beat
 * `draining: true`; let running attempts finish for up to `drainGraceMs` (capped so the rest of
 * the stop fits `timeoutMs`); hand the rest back (protocol row 14); then kill any process group
 * left, stop the beats and the listener, and flush the writer. Nothing accepted is dropped: an
 * attempt ends in its commit or in the hand-back, and its dispatch is acked after that commit.
 */
import { mkdir } from 'node:fs/promises';
import { jetstream } from '@nats-io/jetstream';
import { type ObjectStore, Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Dispatch, Names } from '@gantry/contracts';
import { type Component, createEventFanout, createPublisher, DEFAULT_STOP_TIMEOUT_MS, type Logger, type Metrics, type Publisher, StopTimeoutError, type StopOptions } from '@gantry/runtime';
import { JobWriter, type Pool } from '@gantry/store';
import { createCancelListener } from './cancel-listener.js';
import { createDispatchConsumer, type DispatchConsumer } from './dispatch/consumer.js';
import { createExpressListener } from './dispatch/express.js';
import { createDispatchHandler } from './dispatch/handle-dispatch.js';
import { readCancelReason } from './engine/cancel-reason.js';
import { AttemptRun } from './engine/job-runner.js';
import { createHeartbeat, type HeartbeatComponent } from './heartbeat.js';
import { InFlight } from './in-flight.js';
import { createWorkerMetrics } from './metrics.js';
import type { WorkerSettings } from './settings.js';
import { WorkerSignals } from './signals.js';
import { Slots } from './slots.js';
import { StaleDirSweeps } from './stale-dirs.js';
import { openAiCompatibleProvider } from './steps/ai/openai-compatible.js';
import type { AiProviderFactory } from './steps/ai/provider.js';
import { builtinStepTypes } from './steps/builtin.js';
import { ProcessGroups } from './steps/process/process-group.js';
import { prepareWorkRoot, StepUserPool } from './steps/process/step-user.js';
import { StepRegistry } from './steps/registry.js';
import type { StepHandler } from './steps/types.js';

/** Milliseconds of a stop kept for killing the steps still running, their attempts' last writes, and flushing. */
export const STOP_RESERVE_MS = 2_000;

/** What a worker is built from. */
export interface WorkerDeps {
  readonly settings: WorkerSettings;
  readonly nc: NatsConnection;
  readonly pool: Pool;
  readonly names: Names;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** The running version, in heartbeats. */
  readonly version: string;
  /** Custom step types, registered after the built-in ones. */
  readonly stepTypes?: readonly StepHandler<unknown>[];
  /** The AI provider of AI_ACTION steps; default OpenAI-compatible over fetch. */
  readonly aiProvider?: AiProviderFactory;
}

/** A worker: a lifecycle component with a few read-only views for health and tests. */
export interface Worker extends Component {
  readonly id: string;
  readonly slots: { readonly total: number; readonly busy: number };
  readonly draining: boolean;
  readonly signals: WorkerSignals;
  readonly registry: StepRegistry;
}

interface Running {
  readonly writer: JobWriter;
  readonly publisher: Publisher;
  readonly consumer: DispatchConsumer;
  /** Present when the worker has express slots. */
  readonly express: Component | undefined;
  readonly heartbeat: HeartbeatComponent;
  readonly cancel: Component;
  /** The sweeps of the work root for directories left behind (see stale-dirs.ts). */
  readonly dirSweeps: StaleDirSweeps;
}

async function settlesWithin(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  try {
    return await Promise.race([work.then(() => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** Builds a worker; `start()` connects its parts, `stop()` drains it (see the module doc). */
export function createWorker(deps: WorkerDeps): Worker {
  const { settings, nc, names } = deps;
  const logger = deps.logger.child({ workerId: settings.workerId });
  const slots = new Slots(settings.concurrency);
  const expressSlots = settings.expressSlots > 0 ? new Slots(settings.expressSlots) : undefined;
  const inFlight = new InFlight();
  const signals = new WorkerSignals();
  const groups = new ProcessGroups();
  const metrics = createWorkerMetrics(deps.metrics, settings.pool, () => ({
    total: slots.total, busy: slots.busy, expressTotal: expressSlots?.total ?? 0, expressBusy: expressSlots?.busy ?? 0,
  }));
  signals.on('dispatchDropped', (d) => metrics.dispatchDropped(d.reason));
  const users = settings.stepUsers ? new StepUserPool(settings.stepUsers) : undefined;
  // The range has a user for every slot, and maybe more: once the users held back outnumber the
  // spare ones, each is a slot the worker cannot fill, and it offers one fewer (see StepUserPool).
  if (users) {
    const spare = settings.stepUsers!.count - settings.concurrency - settings.expressSlots;
    users.onHeldChange = (held) => {
      // Ordinary slots first; past them all, express slots too.
      slots.withhold(held - spare);
      expressSlots?.withhold(held - spare - slots.total);
    };
  }
  let bucket: Promise<ObjectStore> | undefined;
  const openBucket = () => {
    bucket ??= new Objm(jetstream(nc)).open(names.buckets.artifacts).catch((err: unknown) => {
      bucket = undefined;
      throw err;
    });
    return bucket;
  };
  const registry = new StepRegistry([
    ...builtinStepTypes({ settings, ai: settings.ai, metrics, groups, names, bucket: openBucket, provider: deps.aiProvider ?? openAiCompatibleProvider }),
    ...(deps.stepTypes ?? []),
  ]);
  let draining = false;
  let running: Running | undefined;
  let starting: Promise<void> | undefined;
  let stopping: Promise<void> | undefined;

  const launch = async (): Promise<void> => {
    await mkdir(settings.workDir, { recursive: true });
    await prepareWorkRoot(settings.workDir, settings.stepUsers?.first);
    draining = false;
    const publisher = createPublisher(nc, { registry: deps.metrics.registry });
    const writer = new JobWriter({
      pool: deps.pool,
      onCommit: createEventFanout({ nc, names, logger, registry: deps.metrics.registry }),
      onCommitError: (err) => logger.warn({ err }, 'event fan-out failed'),
      onFlush: (report) => metrics.flushed(report),
    });
    const startAttempt = (dispatch: Dispatch, onClaim: (claimed: boolean) => void) =>
      new AttemptRun(dispatch, { writer, registry, settings, users, metrics, logger, cancelReason: (jobId) => readCancelReason(deps.pool, jobId), onClaim });
    const handle = createDispatchHandler({ inFlight, slots, signals, logger, startAttempt });
    const consumer = createDispatchConsumer({ nc, names, pool: settings.pool, slots, gatherMs: settings.pullGatherMs, logger, onMessage: handle });
    const express = expressSlots && createExpressListener({
      nc, names, workerId: settings.workerId, slots: expressSlots, draining: () => draining, logger,
      onDispatch: createDispatchHandler({ inFlight, slots: expressSlots, signals, logger, startAttempt }),
    });
    const heartbeat = createHeartbeat({
      nc, names, workerId: settings.workerId, pool: settings.pool, version: deps.version, slots, express: expressSlots, inFlight,
      draining: () => draining, ackWaitMs: () => consumer.ackWaitMs, logger,
    });
    const cancel = createCancelListener({ nc, names, workerId: settings.workerId, inFlight, logger });
    slots.onChange = () => heartbeat.beatSoon();
    if (expressSlots) expressSlots.onChange = () => heartbeat.beatSoon();
    try {
      await cancel.start();
      await consumer.start();
      await express?.start();
      await heartbeat.start();
    } catch (err) {
      await Promise.allSettled([heartbeat.stop(), express?.stop(), consumer.stop(), cancel.stop()]);
      await writer.stop();
      await publisher.close();
      throw err;
    }
    const dirSweeps = new StaleDirSweeps({ root: settings.workDir, pool: deps.pool, holds: (jobId, attempt) => inFlight.get(jobId, attempt) !== undefined, logger });
    running = { writer, publisher, consumer, express, heartbeat, cancel, dirSweeps };
    logger.info({ pool: settings.pool, concurrency: settings.concurrency, expressSlots: settings.expressSlots, stepTypes: registry.types() }, 'worker started');
  };

  const drain = async (r: Running, timeoutMs: number): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    draining = true;
    const sweptDirs = r.dirSweeps.stop();
    r.heartbeat.beat();
    await r.express?.stop({ timeoutMs: left() });
    await r.consumer.stop({ timeoutMs: left() });
    const grace = Math.min(settings.drainGraceMs, left() - settings.killGraceMs - STOP_RESERVE_MS);
    const allIdle = () => Promise.all([slots.idle(), expressSlots?.idle()]);
    if (!(await settlesWithin(allIdle(), grace))) {
      logger.info({ jobs: inFlight.jobs() }, 'drain grace over: handing back the jobs still running');
      for (const entry of inFlight) entry.signal('handback');
    }
    // A step may take longer to stop than the stop allows (a spec's own `killGraceMs`, a CLEANUP
    // that runs on): its processes are killed while the reserve is left, so that its attempt
    // still writes its end (a hand-back) before the writer stops. Lost, that write would leave
    // the job to the lost-worker duty, a failed attempt instead of a free hand-back.
    let idle = await settlesWithin(allIdle(), Math.max(0, left() - STOP_RESERVE_MS));
    if (!idle) {
      logger.warn({ jobs: inFlight.jobs() }, 'stop time nearly over: killing the steps still running');
      groups.killAll('SIGKILL');
      idle = await settlesWithin(allIdle(), left());
    }
    groups.killAll('SIGKILL');
    await r.heartbeat.stop({ timeoutMs: left() });
    await r.cancel.stop({ timeoutMs: left() });
    await r.writer.stop({ timeoutMs: Math.max(1_000, left()) });
    await r.publisher.close();
    await settlesWithin(sweptDirs, left());
    users?.close();
    if (!idle) throw new StopTimeoutError('worker', timeoutMs);
    logger.info('worker stopped');
  };

  return {
    name: 'worker',
    get id() {
      return settings.workerId;
    },
    get slots() {
      return { total: slots.total, busy: slots.busy };
    },
    get draining() {
      return draining;
    },
    signals,
    registry,
    start() {
      if (running) return Promise.resolve();
      starting ??= launch().finally(() => {
        starting = undefined;
      });
      return starting;
    },
    stop(opts?: StopOptions) {
      if (stopping) return stopping;
      stopping = (async () => {
        await starting?.catch(() => undefined);
        const r = running;
        if (!r) return;
        running = undefined;
        await drain(r, opts?.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
      })().finally(() => {
        stopping = undefined;
      });
      return stopping;
    },
  };
}
