/** The scheduler's metrics, on the service registry. Names and labels come from contracts. */
import { JOBS_TIMED_OUT_HELP, MetricLabels as L, MetricNames as M } from '@gantry/contracts';
import { boundedLabel, counterOn, gaugeOn, histogramOn } from '@gantry/runtime';
import type { Registry } from 'prom-client';

/** Job types that get a series of their own; the rest count as `other` (tenants choose types). */
const MAX_TYPE_LABELS = 200;

/** Registers the scheduler's metrics on `registry` (each created once per registry). */
export function schedulerMetrics(registry: Registry) {
  const finished = counterOn(registry, {
    name: M.jobsFinished,
    help: 'Jobs the scheduler ended itself (a lost worker’s or an overdue job with no attempt left, an approval gate past its deadline), by job type and status; workers count the jobs they end.',
    labelNames: [L.type, L.status],
  });
  const typeLabel = boundedLabel(MAX_TYPE_LABELS);
  return {
    /** Counts a job the scheduler's write ended in `status` (FAILED or CANCELLED). */
    jobEnded: (type: string, status: string) => finished.inc({ type: typeLabel(type), status }),
    queueDepth: gaugeOn(registry, { name: M.queueDepth, help: 'Jobs QUEUED, not yet dispatched and runnable now (their runAt, if any, passed), by pool and priority.', labelNames: [L.pool, L.priority] }),
    queueDelayed: gaugeOn(registry, { name: M.queueDelayed, help: 'Jobs QUEUED whose runAt (a delay, or a retry’s backoff) has not come yet, by pool.', labelNames: [L.pool] }),
    queueOldestAge: gaugeOn(registry, { name: M.queueOldestAge, help: 'Age of the oldest dispatchable QUEUED job, by pool.', labelNames: [L.pool] }),
    pastDeadline: gaugeOn(registry, {
      name: M.jobsPastDeadline,
      help: 'Jobs RUNNING past their deadline (deadline_at < now), by pool of the running jobs; the timeouts duty ends them within TIMEOUT_GRACE_MS.',
      labelNames: [L.pool],
    }),
    queueWait: histogramOn(registry, {
      name: M.queueWait,
      help: 'Seconds from a job becoming runnable (queued, or its runAt if later) to its dispatch.',
      labelNames: [L.pool],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
    }),
    dispatches: counterOn(registry, { name: M.dispatches, help: 'Dispatches by pool and outcome: published, failed (its publish), express (an express dispatch the worker took), express_refused (refused or unanswered, back to the backlog).', labelNames: [L.pool, L.outcome] }),
    freeSlots: gaugeOn(registry, { name: M.workerSlots, help: 'Worker slots by pool and state (free credit as last computed).', labelNames: [L.pool] }),
    liveWorkers: gaugeOn(registry, { name: M.liveWorkers, help: 'Workers heard from recently, by pool.', labelNames: [L.pool] }),
    leader: gaugeOn(registry, { name: M.schedulerLeader, help: '1 while this replica leads, else 0.' }),
    term: gaugeOn(registry, { name: M.schedulerTerm, help: 'Leadership term this replica holds or last held.' }),
    deadLetters: counterOn(registry, { name: M.deadLetters, help: 'Commands dead-lettered, by command and reason.', labelNames: [L.command, L.reason] }),
    commands: counterOn(registry, { name: M.commandsProcessed, help: 'Commands processed, by command and outcome.', labelNames: [L.command, L.outcome] }),
    commandGrants: counterOn(registry, {
      name: M.commandGrants,
      help: 'Command grants (Gantry-Grant) whose signature checked out, by the key that signed them: current (COMMAND_SIGNING_KEY) or previous (COMMAND_PREVIOUS_SIGNING_KEY, during a rotation).',
      labelNames: [L.signingKey],
    }),
    // As the workers have it: each attempt is counted once, by whoever ended it.
    timedOut: counterOn(registry, { name: M.jobsTimedOut, help: JOBS_TIMED_OUT_HELP }),
    requeued: counterOn(registry, { name: M.jobsRequeued, help: 'Jobs queued again, by reason.', labelNames: [L.reason] }),
    repairs: counterOn(registry, { name: M.reconcilerRepairs, help: 'Reconciler repairs, by kind.', labelNames: [L.reason] }),
  };
}

/** The scheduler's metrics (see {@link schedulerMetrics}). */
export type SchedulerMetrics = ReturnType<typeof schedulerMetrics>;

/**
 * Clears the gauges only the leader sets (queue depth and oldest age, jobs past their deadline,
 * free slots), so that a replica that stops leading exports none rather than stale values.
 */
export function clearLeaderGauges(metrics: SchedulerMetrics): void {
  for (const gauge of [metrics.queueDepth, metrics.queueDelayed, metrics.queueOldestAge, metrics.pastDeadline, metrics.freeSlots]) gauge.reset();
}
