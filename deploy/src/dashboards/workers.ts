/**
 * Gantry workers: slots by pool and worker, the scheduler's dispatch credit, step and job
 * durations by type, command exit classes, AI tokens, and the scheduler's recoveries (timeouts,
 * requeues, reconciler repairs).
 */
import { dashboard, type DashboardSpec, NS, NS_SVC, RATE } from './builder.js';

export const workersSpec: DashboardSpec = {
  uid: 'gantry-workers',
  title: 'Gantry / Workers',
  description: 'Slots, steps, commands and AI tokens of the Gantry workers.',
  rows: [
    {
      title: 'Slots',
      panels: [
        {
          title: 'Slots by pool',
          description: 'Slots of the workers of each pool, and how many run a job now; express slots (urgent jobs only, beyond the ordinary ones) apart.',
          queries: [
            { expr: `sum by (pool) (gantry_slots_total{${NS_SVC}})`, legend: '{{pool}} slots' },
            { expr: `sum by (pool) (gantry_slots_busy{${NS_SVC}})`, legend: '{{pool}} busy' },
            { expr: `sum by (pool) (gantry_express_slots_total{${NS_SVC}})`, legend: '{{pool}} express slots' },
            { expr: `sum by (pool) (gantry_express_slots_busy{${NS_SVC}})`, legend: '{{pool}} express busy' },
          ],
        },
        {
          title: 'Busy slots by worker',
          description: 'Jobs each worker holds now.',
          stacked: true,
          queries: [{ expr: `sum by (pod) (gantry_slots_busy{${NS_SVC}})`, legend: '{{pod}}' }],
        },
        {
          title: 'Dispatch credit by pool',
          description: 'Free slots the scheduler leader counts from heartbeats, minus dispatches not yet claimed.',
          queries: [{ expr: `max by (pool) (gantry_worker_slots{${NS}} * on (namespace, pod) group_left () gantry_scheduler_leader{${NS}})`, legend: '{{pool}}' }],
        },
        {
          title: 'Job attempts ended by type and status',
          description: 'COMPLETED, FAILED, CANCELLED, WAITING (parked on an approval), RETRIED, HANDED_BACK.',
          unit: 'ops',
          stacked: true,
          queries: [{ expr: `sum by (type, status) (rate(gantry_jobs_finished_total{${NS_SVC}}[${RATE}]))`, legend: '{{type}} {{status}}' }],
        },
        {
          title: 'Dispatches dropped by reason',
          description: 'Dispatches a worker dropped without running anything: stale (the job had moved on; a redelivery after a lost worker or a timeout), duplicate, invalid.',
          stacked: true,
          queries: [{ expr: `sum by (reason) (increase(gantry_dispatches_dropped_total{${NS_SVC}}[${RATE}]))`, legend: '{{reason}}' }],
        },
      ],
    },
    {
      title: 'Steps',
      panels: [
        {
          title: 'Step duration p99 by step type',
          description: 'How long steps run, by type (COMMAND, AI_ACTION, GATE, ARTIFACT, NOOP, custom).',
          unit: 's',
          queries: [
            { expr: `histogram_quantile(0.99, sum by (le, step_type) (rate(gantry_step_duration_seconds_bucket{${NS_SVC}}[${RATE}])))`, legend: '{{step_type}} p99' },
          ],
        },
        {
          title: 'Step duration p50 by step type',
          description: 'Median step duration by type.',
          unit: 's',
          queries: [
            { expr: `histogram_quantile(0.5, sum by (le, step_type) (rate(gantry_step_duration_seconds_bucket{${NS_SVC}}[${RATE}])))`, legend: '{{step_type}} p50' },
          ],
        },
        {
          title: 'Steps per second by type and status',
          description: 'Steps that ended, by step type and status.',
          unit: 'ops',
          stacked: true,
          queries: [{ expr: `sum by (step_type, status) (rate(gantry_step_duration_seconds_count{${NS_SVC}}[${RATE}]))`, legend: '{{step_type}} {{status}}' }],
        },
        {
          title: 'Job duration p99 by type',
          description: 'Claim to end of an attempt, for attempts that completed.',
          unit: 's',
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (le, type) (rate(gantry_job_duration_seconds_bucket{${NS_SVC}, status="COMPLETED"}[${RATE}])))`,
              legend: '{{type}}',
            },
          ],
        },
        {
          title: 'Command exits by exit class',
          description: 'COMMAND and GATE processes that ended: ok, error, signal, timeout, cancelled, spawn_failed.',
          unit: 'ops',
          stacked: true,
          queries: [{ expr: `sum by (step_type, exit_class) (rate(gantry_command_exits_total{${NS_SVC}}[${RATE}]))`, legend: '{{step_type}} {{exit_class}}' }],
        },
        {
          title: 'AI tokens per second by model',
          description: 'Tokens of AI_ACTION calls, input and output.',
          unit: 'short',
          stacked: true,
          queries: [{ expr: `sum by (model, direction) (rate(gantry_ai_tokens_total{${NS_SVC}}[${RATE}]))`, legend: '{{model}} {{direction}}' }],
        },
      ],
    },
    {
      title: 'Recovery',
      panels: [
        {
          title: 'Jobs queued again by reason',
          description: 'Attempts the scheduler ended and queued again: worker_lost, timeout.',
          queries: [{ expr: `sum by (reason) (increase(gantry_jobs_requeued_total{${NS}}[${RATE}]))`, legend: '{{reason}}' }],
        },
        {
          title: 'Jobs timed out',
          description: 'Attempts ended because the job ran past its timeout, each counted once by whoever ended it: its worker, or the scheduler when the worker had not within TIMEOUT_GRACE_MS.',
          queries: [{ expr: `sum(increase(gantry_jobs_timed_out_total{${NS}}[${RATE}]))`, legend: 'timed out' }],
        },
        {
          title: 'Running past their deadline by pool',
          description: 'RUNNING jobs past their deadline now, as the scheduler leader counts them: their workers were told to stop; the scheduler ends them after TIMEOUT_GRACE_MS.',
          queries: [{ expr: `max by (pool) (gantry_jobs_past_deadline{${NS}} * on (namespace, pod) group_left () gantry_scheduler_leader{${NS}})`, legend: '{{pool}}' }],
        },
        {
          title: 'Reconciler repairs by kind',
          description: 'What the reconciler fixed from PostgreSQL: pending_queued, redispatched, cancel_resent, cancel_honoured.',
          queries: [{ expr: `sum by (reason) (increase(gantry_reconciler_repairs_total{${NS}}[${RATE}]))`, legend: '{{reason}}' }],
        },
      ],
    },
  ],
};

export const workers = dashboard(workersSpec);
