/**
 * Metric names and label keys, the one place they are spelled. Base units, conventional
 * suffixes, histograms not summaries, and never a job id as a label value.
 */
export const METRIC_PREFIX = 'gantry_';

export const MetricNames = {
  // api
  httpRequestDuration: 'gantry_http_request_duration_seconds',
  jobsSubmitted: 'gantry_jobs_submitted_total',
  sseClients: 'gantry_sse_clients',
  // scheduler
  queueDepth: 'gantry_queue_depth',
  queueDelayed: 'gantry_queue_delayed',
  queueOldestAge: 'gantry_queue_oldest_age_seconds',
  queueWait: 'gantry_queue_wait_seconds',
  jobsPastDeadline: 'gantry_jobs_past_deadline',
  dispatches: 'gantry_dispatches_total',
  liveWorkers: 'gantry_live_workers',
  workerSlots: 'gantry_worker_slots',
  schedulerLeader: 'gantry_scheduler_leader',
  schedulerTerm: 'gantry_scheduler_term',
  deadLetters: 'gantry_dead_letters_total',
  jobsTimedOut: 'gantry_jobs_timed_out_total',
  jobsRequeued: 'gantry_jobs_requeued_total',
  reconcilerRepairs: 'gantry_reconciler_repairs_total',
  commandsProcessed: 'gantry_commands_total',
  commandGrants: 'gantry_command_grants_total',
  // worker
  jobsFinished: 'gantry_jobs_finished_total',
  jobDuration: 'gantry_job_duration_seconds',
  stepDuration: 'gantry_step_duration_seconds',
  slotsBusy: 'gantry_slots_busy',
  slotsTotal: 'gantry_slots_total',
  expressSlotsBusy: 'gantry_express_slots_busy',
  expressSlotsTotal: 'gantry_express_slots_total',
  aiTokens: 'gantry_ai_tokens_total',
  commandExits: 'gantry_command_exits_total',
  dispatchesDropped: 'gantry_dispatches_dropped_total',
  // store (every service)
  eventsWritten: 'gantry_events_written_total',
  writeBatchSize: 'gantry_write_batch_size',
  writeFlushDuration: 'gantry_write_flush_duration_seconds',
  writeErrors: 'gantry_write_errors_total',
  natsPublishes: 'gantry_nats_publishes_total',
  natsPublishErrors: 'gantry_nats_publish_errors_total',
  serviceInfo: 'gantry_service_info',
} as const;
export type MetricName = (typeof MetricNames)[keyof typeof MetricNames];

/**
 * The help of a metric two services export (the worker and the scheduler each count the attempts
 * they end), spelled once so that their series are described alike.
 */
export const JOBS_TIMED_OUT_HELP = 'Job attempts ended because the job ran past its timeout, by the process that ended them.';

export const MetricLabels = {
  service: 'service',
  version: 'version',
  route: 'route',
  method: 'method',
  statusClass: 'status_class',
  status: 'status',
  type: 'type',
  priority: 'priority',
  phase: 'phase',
  stepType: 'step_type',
  reason: 'reason',
  pool: 'pool',
  state: 'state',
  direction: 'direction',
  model: 'model',
  exitClass: 'exit_class',
  outcome: 'outcome',
  command: 'command',
  stream: 'stream',
  signingKey: 'signing_key',
} as const;
export type MetricLabel = (typeof MetricLabels)[keyof typeof MetricLabels];
