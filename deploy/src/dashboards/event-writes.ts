/**
 * The event write path: group commits of job writes to PostgreSQL (events per second, writes
 * per commit, commit duration, failures) and the JetStream publishes that follow each commit.
 * The group-commit metrics are the workers' (the writers whose volume matters).
 */
import { dashboard, type DashboardSpec, NS_SVC, RATE } from './builder.js';

export const eventWritesSpec: DashboardSpec = {
  uid: 'gantry-event-writes',
  title: 'Gantry / Event write path',
  description: 'Group commits of job state and events, and the JetStream publishes after them.',
  rows: [
    {
      title: 'Group commits',
      panels: [
        {
          title: 'Events written per second by pod',
          description: 'Job events committed to job_events.',
          unit: 'ops',
          stacked: true,
          queries: [{ expr: `sum by (pod) (rate(gantry_events_written_total{${NS_SVC}}[${RATE}]))`, legend: '{{pod}}' }],
        },
        {
          title: 'Group commits per second by pod',
          description: 'Transactions that carried job writes.',
          unit: 'ops',
          queries: [{ expr: `sum by (pod) (rate(gantry_write_flush_duration_seconds_count{${NS_SVC}}[${RATE}]))`, legend: '{{pod}}' }],
        },
        {
          title: 'Writes per group commit',
          description: 'Mean and p99 of job writes batched into one commit: higher is cheaper per write.',
          queries: [
            {
              expr: `sum(rate(gantry_write_batch_size_sum{${NS_SVC}}[${RATE}])) / sum(rate(gantry_write_batch_size_count{${NS_SVC}}[${RATE}]))`,
              legend: 'mean',
            },
            { expr: `histogram_quantile(0.99, sum by (le) (rate(gantry_write_batch_size_bucket{${NS_SVC}}[${RATE}])))`, legend: 'p99' },
          ],
        },
        {
          title: 'Group commit duration p50 / p99',
          description: 'Time of one group commit, lock to commit.',
          unit: 's',
          queries: [
            { expr: `histogram_quantile(0.5, sum by (le) (rate(gantry_write_flush_duration_seconds_bucket{${NS_SVC}}[${RATE}])))`, legend: 'p50' },
            { expr: `histogram_quantile(0.99, sum by (le) (rate(gantry_write_flush_duration_seconds_bucket{${NS_SVC}}[${RATE}])))`, legend: 'p99' },
          ],
        },
        {
          title: 'Failed group commits by pod',
          description: 'Group commits that failed; the alert GantryEventWriteErrors fires when they continue.',
          queries: [{ expr: `sum by (pod) (increase(gantry_write_errors_total{${NS_SVC}}[${RATE}]))`, legend: '{{pod}}' }],
        },
        {
          title: 'Events per job write',
          description: 'Mean events carried by one job write.',
          queries: [
            {
              expr: `sum(rate(gantry_events_written_total{${NS_SVC}}[${RATE}])) / sum(rate(gantry_write_batch_size_sum{${NS_SVC}}[${RATE}]))`,
              legend: 'events per write',
            },
          ],
        },
      ],
    },
    {
      title: 'JetStream publishes',
      panels: [
        {
          title: 'Publishes per second by stream and outcome',
          description: 'Acknowledged JetStream publishes (commands, dispatches, events, dead letters): stored or duplicate.',
          unit: 'ops',
          stacked: true,
          queries: [{ expr: `sum by (stream, outcome) (rate(gantry_nats_publishes_total{${NS_SVC}}[${RATE}]))`, legend: '{{stream}} {{outcome}}' }],
        },
        {
          title: 'Publish errors per second by service',
          description: 'Publishes that failed; what was committed is re-published by the reconciler or read back from PostgreSQL.',
          unit: 'ops',
          queries: [{ expr: `sum by (job) (rate(gantry_nats_publish_errors_total{${NS_SVC}}[${RATE}]))`, legend: '{{job}}' }],
        },
      ],
    },
  ],
};

export const eventWrites = dashboard(eventWritesSpec);
