/**
 * The scheduler, assembled: every replica listens to worker heartbeats and competes for the
 * leadership lease; the leader consumes commands, dispatches, and runs the periodic duties
 * (reconciler, timeouts, lost workers, queue gauges, the backlog's statistics, index hygiene).
 * Plain factory; tests build it in-process.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Names } from '@gantry/contracts';
import { type Component, createEventFanout, createPublisher, delay, type Logger, type Metrics, writeFlushRecorder } from '@gantry/runtime';
import { JobWriter, type Pool } from '@gantry/store';
import { CommandAuthorizer } from './commands/authorize.js';
import { sweepGivenUp, watchMaxDeliveries } from './commands/advisories.js';
import { CommandConsumer } from './commands/consumer.js';
import { createDeadLetterer } from './commands/dead-letter.js';
import { Dispatcher } from './dispatch/dispatcher.js';
import { createLeadership, type Leadership } from './leadership/leadership.js';
import type { Lease } from './leadership/lease.js';
import { keepBacklogStatisticsOnce, type StatisticsState } from './maintenance/backlog-statistics.js';
import { sweepDeadIndexEntriesOnce } from './maintenance/index-hygiene.js';
import type { DutyContext } from './maintenance/duty.js';
import { recoverLostWorkersOnce } from './maintenance/lost-workers.js';
import { observeQueueOnce } from './maintenance/queue-gauges.js';
import { reconcileOnce } from './maintenance/reconciler.js';
import { warnAboutServerSettings } from './maintenance/server-settings.js';
import { enforceTimeoutsOnce } from './maintenance/timeouts.js';
import { clearLeaderGauges, schedulerMetrics } from './metrics.js';
import { WorkerRegistry } from './workers/registry.js';

/**
 * How old a stored command must be before the sweep takes it for given up: older than any
 * command's handling with all its redeliveries (the consumer's backoff sums to under a minute).
 */
const GIVEN_UP_MIN_AGE_MS = 120_000;

/** The scheduler's tunables (see config.ts for their meaning and defaults). */
export interface SchedulerSettings {
  leaseMs: number;
  renewMs: number;
  dispatchIntervalMs: number;
  dispatchBatch: number;
  agingSecondsPerPoint: number;
  expressPriority: number;
  workspaceMaxRunning: number;
  reconcileIntervalMs: number;
  pendingGraceMs: number;
  unclaimedRedispatchMs: number;
  cancelResendMs: number;
  timeoutGraceMs: number;
  workerLostMs: number;
  /** COMMAND_SIGNING_KEY: checks the API's command grants; empty refuses them. */
  commandSigningKey: string;
  /** COMMAND_PREVIOUS_SIGNING_KEY: the key COMMAND_SIGNING_KEY replaced, still accepted; empty: none. */
  commandPreviousSigningKey: string;
}

export interface SchedulerDeps {
  pool: Pool;
  nc: NatsConnection;
  names: Names;
  logger: Logger;
  metrics: Metrics;
  settings: SchedulerSettings;
  /** This replica's identity in the lease; default host + random suffix. */
  holder?: string;
}

export interface Scheduler {
  /** In start order; stop in reverse. */
  readonly components: readonly Component[];
  readonly leadership: Leadership;
  readonly dispatcher: Dispatcher;
  readonly workers: WorkerRegistry;
}

export function createScheduler(deps: SchedulerDeps): Scheduler {
  const { pool, nc, names, settings } = deps;
  const logger = deps.logger.child({ component: 'scheduler' });
  const metrics = schedulerMetrics(deps.metrics.registry);
  const js = jetstream(nc);
  const publisher = createPublisher(nc, { registry: deps.metrics.registry });
  const fanOut = createEventFanout({ nc, names, logger, registry: deps.metrics.registry });
  const writer = new JobWriter({
    pool,
    onCommit: fanOut,
    onCommitError: (err) => logger.error({ err }, 'event fan-out failed'),
    onFlush: writeFlushRecorder(deps.metrics.registry),
  });

  // Beats only arrive after start(), by when `dispatcher` exists.
  const workers = new WorkerRegistry({
    nc,
    names,
    lostAfterMs: settings.workerLostMs,
    logger,
    onBeat: (w, previous) => dispatcher.onBeat(w, previous),
    onCount: (liveByPool) => {
      for (const [p, n] of liveByPool) metrics.liveWorkers.set({ pool: p }, n);
    },
  });
  const dispatcher: Dispatcher = new Dispatcher({
    pool,
    nc,
    publisher,
    names,
    workers,
    logger,
    metrics,
    intervalMs: settings.dispatchIntervalMs,
    batch: settings.dispatchBatch,
    defaultWorkspaceLimit: settings.workspaceMaxRunning,
    agingSecondsPerPoint: settings.agingSecondsPerPoint,
    expressPriority: settings.expressPriority,
  });
  const wakeDispatcher = () => dispatcher.wake();
  const authorizer = () =>
    new CommandAuthorizer(pool, {
      signingKey: settings.commandSigningKey,
      previousSigningKey: settings.commandPreviousSigningKey,
      onGrant: (key) => metrics.commandGrants.inc({ signing_key: key }),
    });
  // Each key's series from the start, so that a rotation's `previous` reads 0 rather than nothing.
  if (settings.commandSigningKey !== '') metrics.commandGrants.inc({ signing_key: 'current' }, 0);
  if (settings.commandPreviousSigningKey !== '') metrics.commandGrants.inc({ signing_key: 'previous' }, 0);

  const lead = async (lease: Lease, signal: AbortSignal): Promise<void> => {
    metrics.leader.set(1);
    metrics.term.set(lease.term);
    void warnAboutServerSettings(pool, logger);
    const jsm = await jetstreamManager(nc);
    const deadLetter = createDeadLetterer({ publisher, names, metrics, logger });
    const consumer = new CommandConsumer({
      js,
      names,
      deadLetter,
      metrics,
      logger,
      ctx: { pool, writer, names, nc, authorizer: authorizer(), fanOut, wakeDispatcher, transaction: (work) => dispatcher.transaction(lease, work) },
    });
    const advisories = watchMaxDeliveries({ nc, jsm, names, deadLetter, logger, onGivenUp: (seq) => consumer.givenUp(seq) });
    const duty: DutyContext = { pool, writer, nc, names, logger, metrics, lease, wakeDispatcher, betweenRounds: (fn) => dispatcher.betweenRounds(fn) };
    const leaderSince = Date.now();
    const statistics: StatisticsState = { lastAnalyzeAt: 0 };
    const maintenance = async () => {
      while (!signal.aborted) {
        for (const [name, once] of [
          ['reconciler', () => reconcileOnce(duty, { pendingGraceMs: settings.pendingGraceMs, unclaimedMs: settings.unclaimedRedispatchMs, cancelResendMs: settings.cancelResendMs })],
          ['timeouts', () => enforceTimeoutsOnce(duty, settings.timeoutGraceMs)],
          ['lost-workers', () => recoverLostWorkersOnce(duty, workers, { lostAfterMs: settings.workerLostMs, leaderSince })],
          ['queue-gauges', async () => void (await keepBacklogStatisticsOnce(duty, await observeQueueOnce(duty), statistics))],
          ['index-hygiene', () => sweepDeadIndexEntriesOnce(duty)],
          ['given-up-commands', async () => void (await sweepGivenUp({ jsm, names, deadLetter, logger, isHeld: (seq) => consumer.holds(seq), minAgeMs: GIVEN_UP_MIN_AGE_MS }))],
        ] as const) {
          if (signal.aborted) break;
          await once().catch((err: unknown) => logger.error({ err, duty: name }, 'duty failed'));
        }
        await delay(settings.reconcileIntervalMs, signal);
      }
    };
    try {
      await Promise.all([consumer.run(signal), dispatcher.run(lease, signal), maintenance()]);
    } finally {
      advisories.unsubscribe();
      clearLeaderGauges(metrics);
      metrics.leader.set(0);
    }
  };

  const leadership = createLeadership({
    pool,
    name: 'scheduler',
    holder: deps.holder ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    leaseMs: settings.leaseMs,
    renewMs: settings.renewMs,
    logger,
    onLeader: lead,
  });

  const publisherComponent: Component = { name: 'publisher', start: async () => {}, stop: () => publisher.close() };
  return {
    components: [publisherComponent, writer, workers, leadership],
    leadership,
    dispatcher,
    workers,
  };
}
