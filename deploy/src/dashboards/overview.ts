/**
 * The Gantry overview: the API's rate, errors and latency; the queue (depth by priority, wait,
 * oldest job); throughput by terminal status and the failure ratio; workers and busy slots;
 * dead letters and commands; the scheduler's leadership; and each process's health.
 *
 * Queue gauges come from the scheduler leader (a replica that stops leading clears them, and
 * one that leads again sets them anew); queue panels keep only the leader's series (`* on
 * (namespace, pod) group_left () gantry_scheduler_leader`), so no series of a former leader is
 * summed with the current one's while its scrape lags.
 */
import { dashboard, type DashboardSpec, NS, NS_SVC, RATE } from './builder.js';

const LEADER = `* on (namespace, pod) group_left () gantry_scheduler_leader{${NS}}`;

export const overviewSpec: DashboardSpec = {
  uid: 'gantry-overview',
  title: 'Gantry / Overview',
  description: 'API, queue, throughput, workers and scheduler of one Gantry deployment.',
  rows: [
    {
      title: 'API',
      panels: [
        {
          title: 'Requests per second by status class',
          description: 'HTTP requests the API answered (event streams excluded), by 2xx/3xx/4xx/5xx.',
          unit: 'reqps',
          stacked: true,
          queries: [{ expr: `sum by (status_class) (rate(gantry_http_request_duration_seconds_count{${NS}}[${RATE}]))`, legend: '{{status_class}}' }],
        },
        {
          title: 'Server errors (5xx) ratio',
          description: 'Share of API requests answered with a 5xx status.',
          unit: 'percentunit',
          min: 0,
          queries: [
            {
              expr:
                `sum(rate(gantry_http_request_duration_seconds_count{${NS}, status_class="5xx"}[${RATE}]))` +
                ` / sum(rate(gantry_http_request_duration_seconds_count{${NS}}[${RATE}]))`,
              legend: '5xx',
            },
          ],
        },
        {
          title: 'Request latency p50 / p99',
          description: 'API request duration quantiles over all routes.',
          unit: 's',
          queries: [
            { expr: `histogram_quantile(0.5, sum by (le) (rate(gantry_http_request_duration_seconds_bucket{${NS}}[${RATE}])))`, legend: 'p50' },
            { expr: `histogram_quantile(0.99, sum by (le) (rate(gantry_http_request_duration_seconds_bucket{${NS}}[${RATE}])))`, legend: 'p99' },
          ],
        },
        {
          title: 'Jobs submitted per second by priority',
          description: 'Jobs created through the API (replays of an idempotency key excluded).',
          unit: 'ops',
          stacked: true,
          queries: [{ expr: `sum by (priority) (rate(gantry_jobs_submitted_total{${NS}}[${RATE}]))`, legend: 'priority {{priority}}' }],
        },
        {
          title: 'Event streams open by pod',
          description: 'Server-Sent Event streams each API process holds open (at most SSE_MAX_CLIENTS per process, SSE_MAX_CLIENTS_PER_WORKSPACE per workspace; beyond them, 503 and 429).',
          queries: [{ expr: `sum by (pod) (gantry_sse_clients{${NS}})`, legend: '{{pod}}' }],
        },
      ],
    },
    {
      title: 'Queue',
      panels: [
        {
          title: 'Queue depth by priority',
          description: 'Jobs QUEUED, not yet dispatched and runnable now, by priority (jobs delayed to a later runAt are gantry_queue_delayed).',
          stacked: true,
          queries: [{ expr: `sum by (priority) (gantry_queue_depth{${NS}} ${LEADER})`, legend: 'priority {{priority}}' }],
        },
        {
          title: 'Queue wait p50 / p99',
          description: 'Time from a job becoming runnable (queued, or its runAt if later) to its dispatch. The SLO: 99 % within 10 s.',
          unit: 's',
          queries: [
            { expr: `histogram_quantile(0.5, sum by (le) (rate(gantry_queue_wait_seconds_bucket{${NS}}[${RATE}])))`, legend: 'p50' },
            { expr: `histogram_quantile(0.99, sum by (le) (rate(gantry_queue_wait_seconds_bucket{${NS}}[${RATE}])))`, legend: 'p99' },
          ],
        },
        {
          title: 'Jobs dispatched within 10 s',
          description: 'Share of dispatched jobs that waited at most 10 s: the queue-wait SLI (objective 99 %).',
          unit: 'percentunit',
          max: 1,
          queries: [
            {
              expr:
                `sum(rate(gantry_queue_wait_seconds_bucket{${NS}, le="10"}[${RATE}]))` +
                ` / sum(rate(gantry_queue_wait_seconds_count{${NS}}[${RATE}]))`,
              legend: 'within 10 s',
            },
          ],
        },
        {
          title: 'Oldest queued job by pool',
          description: 'Age of the oldest dispatchable QUEUED job of each pool.',
          unit: 's',
          queries: [{ expr: `max by (pool) (gantry_queue_oldest_age_seconds{${NS}} ${LEADER})`, legend: '{{pool}}' }],
        },
        {
          title: 'Delayed jobs by pool',
          description: 'Jobs QUEUED whose runAt (a delay, or a retry’s backoff) has not come yet: not in the queue depth until it comes.',
          stacked: true,
          queries: [{ expr: `sum by (pool) (gantry_queue_delayed{${NS}} ${LEADER})`, legend: '{{pool}}' }],
        },
      ],
    },
    {
      title: 'Jobs',
      panels: [
        {
          title: 'Jobs finished per second by status',
          description: 'Job attempts that ended COMPLETED, FAILED or CANCELLED (retries and hand-backs excluded).',
          unit: 'ops',
          stacked: true,
          queries: [
            {
              expr: `sum by (status) (rate(gantry_jobs_finished_total{${NS}, status=~"COMPLETED|FAILED|CANCELLED"}[${RATE}]))`,
              legend: '{{status}}',
            },
          ],
        },
        {
          title: 'Failure ratio',
          description: 'FAILED among the jobs that completed or failed. The alert GantryJobFailureRatioHigh fires above 10 %.',
          unit: 'percentunit',
          min: 0,
          queries: [
            {
              expr:
                `sum(rate(gantry_jobs_finished_total{${NS}, status="FAILED"}[${RATE}]))` +
                ` / sum(rate(gantry_jobs_finished_total{${NS}, status=~"COMPLETED|FAILED"}[${RATE}]))`,
              legend: 'failed',
            },
          ],
        },
        {
          title: 'Dispatches per second by pool',
          description: 'Dispatches the scheduler published (or failed to publish), by pool.',
          unit: 'ops',
          queries: [{ expr: `sum by (pool, outcome) (rate(gantry_dispatches_total{${NS}}[${RATE}]))`, legend: '{{pool}} {{outcome}}' }],
        },
        {
          title: 'Commands per second by outcome',
          description: 'Commands (submit, cancel, retry, approve) the scheduler consumed, by outcome.',
          unit: 'ops',
          queries: [{ expr: `sum by (command, outcome) (rate(gantry_commands_total{${NS}}[${RATE}]))`, legend: '{{command}} {{outcome}}' }],
        },
        {
          title: 'Command grants by signing key',
          description: 'API commands whose grant the scheduler verified, by the key that signed it. During a rotation of COMMAND_SIGNING_KEY, once `previous` stays at 0 the previous key can be removed.',
          unit: 'ops',
          queries: [{ expr: `sum by (signing_key) (rate(gantry_command_grants_total{${NS}}[${RATE}]))`, legend: '{{signing_key}}' }],
        },
      ],
    },
    {
      title: 'Workers and scheduler',
      panels: [
        {
          title: 'Workers and slots',
          description: 'Workers Prometheus scrapes, those the scheduler leader hears heartbeats from (fewer: some are cut off from NATS and get no dispatch), their slots, and the slots running a job now.',
          queries: [
            { expr: `count(gantry_slots_total{${NS}})`, legend: 'workers' },
            { expr: `sum(gantry_live_workers{${NS}} ${LEADER})`, legend: 'workers the scheduler hears' },
            { expr: `sum(gantry_slots_total{${NS}})`, legend: 'slots' },
            { expr: `sum(gantry_slots_busy{${NS}})`, legend: 'busy slots' },
          ],
        },
        {
          title: 'Dead letters by command and reason',
          description: 'Commands refused or out of deliveries, copied to the dead-letter stream.',
          stacked: true,
          queries: [{ expr: `sum by (command, reason) (increase(gantry_dead_letters_total{${NS}}[${RATE}]))`, legend: '{{command}} {{reason}}' }],
        },
        {
          title: 'Scheduler leaders',
          description: 'Replicas holding the lease: 1 is healthy, 0 means nothing is dispatched.',
          kind: 'stat',
          width: 6,
          queries: [{ expr: `sum(gantry_scheduler_leader{${NS}})`, legend: 'leaders' }],
        },
        {
          title: 'Leadership term',
          description: 'The lease term; it grows by one at every change of leader.',
          kind: 'stat',
          width: 6,
          queries: [{ expr: `max(gantry_scheduler_term{${NS}})`, legend: 'term' }],
        },
        {
          title: 'Leader by pod',
          description: 'Which scheduler replica leads.',
          width: 12,
          queries: [{ expr: `max by (pod) (gantry_scheduler_leader{${NS}})`, legend: '{{pod}}' }],
        },
      ],
    },
    {
      title: 'Processes',
      panels: [
        {
          title: 'Targets up by service',
          description: 'Pods Prometheus scrapes successfully, by service.',
          queries: [{ expr: `sum by (job) (up{${NS_SVC}})`, legend: '{{job}}' }],
        },
        {
          title: 'CPU by pod',
          description: 'CPU seconds per second of each process (job steps of workers included).',
          unit: 'short',
          queries: [{ expr: `sum by (pod) (rate(process_cpu_seconds_total{${NS_SVC}}[${RATE}]))`, legend: '{{pod}}' }],
        },
        {
          title: 'Resident memory by pod',
          description: 'Resident set size of each Node.js process.',
          unit: 'bytes',
          queries: [{ expr: `max by (pod) (process_resident_memory_bytes{${NS_SVC}})`, legend: '{{pod}}' }],
        },
        {
          title: 'Event loop lag p99 by pod',
          description: 'A lagging event loop delays heartbeats, acks and HTTP answers.',
          unit: 's',
          queries: [{ expr: `max by (pod) (nodejs_eventloop_lag_p99_seconds{${NS_SVC}})`, legend: '{{pod}}' }],
        },
        {
          title: 'Processes by service and version',
          description: 'Processes running each version of each service: more than one version at once is a rollout under way, or one stuck.',
          queries: [{ expr: `count by (service, version) (gantry_service_info{${NS_SVC}})`, legend: '{{service}} {{version}}' }],
        },
      ],
    },
  ],
};

export const overview = dashboard(overviewSpec);
