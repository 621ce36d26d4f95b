/**
 * The worker's metrics, on the service registry, named by `MetricNames` of the contracts.
 * Slot gauges are computed when scraped, so the hot path pays nothing for them. Labels whose
 * values come from jobs (job and step types, an AI endpoint's model) give their first
 * {@link MAX_CLIENT_LABELS} values a series each and count the rest as `other`.
 */
import { JOBS_TIMED_OUT_HELP, MetricLabels as L, MetricNames as M } from '@gantry/contracts';
import { boundedLabel, counterOn, gaugeOn, histogramOn, type Metrics, writeFlushRecorder } from '@gantry/runtime';
import type { FlushReport } from '@gantry/store';
import type { AttemptOutcome } from './engine/types.js';

/** How an attempt's end is counted: the job status it left, or RETRIED / HANDED_BACK. */
const OUTCOME_LABEL: Partial<Record<AttemptOutcome, string>> = {
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
  WAITING: 'WAITING',
  RETRY: 'RETRIED',
  HANDED_BACK: 'HANDED_BACK',
};

/** Exit classes of command processes (the `exit_class` label). */
export type ExitClass = 'ok' | 'error' | 'signal' | 'timeout' | 'cancelled' | 'spawn_failed';

/** What the worker's components record. */
export interface WorkerMetrics {
  attemptEnded(jobType: string, outcome: AttemptOutcome, seconds: number): void;
  stepEnded(phase: string, stepType: string, status: string, seconds: number): void;
  aiTokens(model: string, input: number, output: number): void;
  commandExited(stepType: string, exitClass: ExitClass): void;
  /** A dispatch dropped without running anything: its claim was refused (stale), a repeat of one held (duplicate), or unreadable (invalid). */
  dispatchDropped(reason: 'stale' | 'duplicate' | 'invalid'): void;
  /** An attempt this worker ended (retried or failed) because the job ran past its timeout. */
  attemptTimedOut(): void;
  /** The JobWriter's `onFlush`. */
  flushed(report: FlushReport): void;
}

/** Distinct values a label that jobs choose gets series for (each of job type, step type, model). */
export const MAX_CLIENT_LABELS = 200;

const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 1800, 3600];

/** The worker's slots as its gauges read them: ordinary, and express (0 and 0 without express slots). */
export interface SlotCounts {
  total: number;
  busy: number;
  expressTotal: number;
  expressBusy: number;
}

/** Registers the worker's metrics on `metrics`; `slots` is read at scrape time. */
export function createWorkerMetrics(metrics: Metrics, pool: string, slots: () => SlotCounts): WorkerMetrics {
  const r = metrics.registry;
  const finished = counterOn(r, { name: M.jobsFinished, help: 'Job attempts this worker ended, by job type and how they ended (COMPLETED, FAILED, CANCELLED, WAITING, RETRIED, HANDED_BACK).', labelNames: [L.type, L.status] });
  const jobSeconds = histogramOn(r, { name: M.jobDuration, help: 'Seconds from claim to the end of an attempt, by job type and how it ended.', labelNames: [L.type, L.status], buckets: DURATION_BUCKETS });
  const stepSeconds = histogramOn(r, { name: M.stepDuration, help: 'Seconds a step ran, by phase, step type and status.', labelNames: [L.phase, L.stepType, L.status], buckets: DURATION_BUCKETS });
  const tokens = counterOn(r, { name: M.aiTokens, help: 'Tokens of AI_ACTION calls, by direction (input, output) and model.', labelNames: [L.direction, L.model] });
  const exits = counterOn(r, { name: M.commandExits, help: 'Command processes of COMMAND and GATE steps that ended, by step type and exit class.', labelNames: [L.stepType, L.exitClass] });
  const dropped = counterOn(r, { name: M.dispatchesDropped, help: 'Dispatches this worker dropped without running anything, by reason: stale (its claim was refused: the job had moved on to another attempt or status), duplicate (a repeat of a dispatch it holds), invalid.', labelNames: [L.reason] });
  // As the scheduler has it: each attempt counted once, by whoever ended it.
  const timedOut = counterOn(r, { name: M.jobsTimedOut, help: JOBS_TIMED_OUT_HELP });
  const flushed = writeFlushRecorder(r);
  const typeLabel = boundedLabel(MAX_CLIENT_LABELS);
  const stepTypeLabel = boundedLabel(MAX_CLIENT_LABELS);
  const modelLabel = boundedLabel(MAX_CLIENT_LABELS);
  gaugeOn(r, { name: M.slotsTotal, help: 'Jobs this worker can run at once.', labelNames: [L.pool], collect() { this.set({ pool }, slots().total); } });
  gaugeOn(r, { name: M.slotsBusy, help: 'Jobs this worker holds now in its ordinary slots.', labelNames: [L.pool], collect() { this.set({ pool }, slots().busy); } });
  gaugeOn(r, { name: M.expressSlotsTotal, help: 'Express slots of this worker (WORKER_EXPRESS_SLOTS): for urgent jobs only, beyond its ordinary slots.', labelNames: [L.pool], collect() { this.set({ pool }, slots().expressTotal); } });
  gaugeOn(r, { name: M.expressSlotsBusy, help: 'Jobs this worker holds now in its express slots.', labelNames: [L.pool], collect() { this.set({ pool }, slots().expressBusy); } });

  return {
    attemptEnded(jobType, outcome, seconds) {
      const status = OUTCOME_LABEL[outcome];
      if (status === undefined) return;
      const type = typeLabel(jobType);
      finished.inc({ type, status });
      jobSeconds.observe({ type, status }, seconds);
    },
    stepEnded(phase, stepType, status, seconds) {
      stepSeconds.observe({ phase, step_type: stepTypeLabel(stepType), status }, seconds);
    },
    aiTokens(model, input, output) {
      const label = modelLabel(model);
      tokens.inc({ direction: 'input', model: label }, input);
      tokens.inc({ direction: 'output', model: label }, output);
    },
    commandExited(stepType, exitClass) {
      exits.inc({ step_type: stepTypeLabel(stepType), exit_class: exitClass });
    },
    dispatchDropped(reason) {
      dropped.inc({ reason });
    },
    attemptTimedOut() {
      timedOut.inc();
    },
    flushed,
  };
}
