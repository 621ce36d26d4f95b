/** The scheduler's own environment variables, on top of the shared ones. */
import { Priority } from '@gantry/contracts';
import { ConfigError, envInt, envString } from '@gantry/runtime';

export const SCHEDULER_ENV = {
  METRICS_PORT: envInt({ default: 9464, min: 0, max: 65_535, description: 'Port of /metrics, /healthz, /readyz; 0 takes any free port.' }),
  HTTP_HOST: envString({ default: '0.0.0.0', description: 'Address the health and metrics server listens on.' }),
  NATS_STREAM_REPLICAS: envInt({
    default: 1,
    min: 1,
    max: 5,
    description: 'Replicas of each JetStream stream the scheduler provisions (3 on a 3-server NATS cluster); a changed value is applied to existing streams.',
  }),
  SCHEDULER_LEASE_MS: envInt({
    default: 6_000,
    min: 500,
    max: 600_000,
    description: 'Leadership lease length; a standby takes over within about this long after the leader dies.',
  }),
  SCHEDULER_RENEW_MS: envInt({
    default: 2_000,
    min: 100,
    max: 300_000,
    description: 'How often the leader renews its lease (and a standby tries to take it). Keep it under a third of the lease.',
  }),
  DISPATCH_INTERVAL_MS: envInt({
    default: 250,
    min: 5,
    max: 60_000,
    description: 'Longest pause between dispatch rounds when nothing wakes the dispatcher sooner.',
  }),
  DISPATCH_BATCH: envInt({ default: 1_000, min: 1, max: 10_000, description: 'Jobs claimed in one dispatch round at most.' }),
  AGING_SECONDS_PER_POINT: envInt({
    default: 10,
    min: 0,
    max: 86_400,
    description: 'Waiting this many seconds raises the effective priority of a priority’s queued jobs by one: they are raised together, by the wait of the one that has waited longest (counted from when it became runnable: its runAt or a retry’s backoff ended); 0 turns aging off.',
  }),
  DISPATCH_EXPRESS_PRIORITY: envInt({
    default: 80,
    min: Priority.min,
    max: Priority.max,
    description: 'Jobs of this priority or more may start in a worker’s express slots (WORKER_EXPRESS_SLOTS) while every ordinary slot of their pool is busy.',
  }),
  WORKSPACE_MAX_RUNNING: envInt({
    default: 1_000,
    min: 1,
    max: 1_000_000,
    description: 'Jobs of one workspace running (or dispatched) at once, in all pools together, unless the workspace sets its own limit.',
  }),
  RECONCILE_INTERVAL_MS: envInt({ default: 1_000, min: 50, max: 600_000, description: 'How often the reconciler, timeout and lost-worker checks run.' }),
  PENDING_GRACE_MS: envInt({
    default: 5_000,
    min: 0,
    max: 3_600_000,
    description: 'A PENDING job older than this (its submit command never arrived) is queued by the reconciler.',
  }),
  COMMAND_SIGNING_KEY: envString({
    default: '',
    pattern: /^(|.{32,})$/s,
    patternHint: 'must be at least 32 characters (e.g. `openssl rand -hex 32`), or empty',
    description: 'The secret the API signs its command grants with (`Gantry-Grant`); the same value as the API’s. Empty: a command with a grant is dead-lettered, and only `Gantry-Token` authorises.',
  }),
  COMMAND_PREVIOUS_SIGNING_KEY: envString({
    default: '',
    pattern: /^(|.{32,})$/s,
    patternHint: 'must be at least 32 characters, or empty',
    description: 'During a rotation of COMMAND_SIGNING_KEY, the key it replaced: grants signed with it are still accepted, so that the commands in flight are not refused. `gantry_command_grants_total{signing_key="previous"}` shows when it is no longer used; then remove it. Needs COMMAND_SIGNING_KEY.',
  }),
  UNCLAIMED_REDISPATCH_MS: envInt({
    default: 150_000,
    min: 1_000,
    max: 86_400_000,
    description: 'A dispatched job nobody claimed within this long is dispatched again (longer than the 2-minute dedup window).',
  }),
  CANCEL_RESEND_MS: envInt({ default: 1_000, min: 100, max: 600_000, description: 'A cancel signal not yet honoured is sent again after this long.' }),
  TIMEOUT_GRACE_MS: envInt({
    default: 30_000,
    min: 0,
    max: 3_600_000,
    description: 'After a job’s deadline its worker has this long to abort and report; then the scheduler fails (or retries) it.',
  }),
  WORKER_LOST_MS: envInt({ default: 10_000, min: 1_000, max: 3_600_000, description: 'A worker silent for this long is lost; its jobs are queued again.' }),
};

/** Refuses signing keys that cannot work together: a previous key without a current one, or the same key twice. */
export function checkSigningKeys(config: { readonly commandSigningKey: string; readonly commandPreviousSigningKey: string }): void {
  const previous = config.commandPreviousSigningKey;
  if (previous === '') return;
  if (config.commandSigningKey === '') {
    throw new ConfigError([{ variable: 'COMMAND_PREVIOUS_SIGNING_KEY', message: 'is set without COMMAND_SIGNING_KEY: a rotation needs the new key as COMMAND_SIGNING_KEY' }]);
  }
  if (config.commandSigningKey === previous) {
    throw new ConfigError([{ variable: 'COMMAND_PREVIOUS_SIGNING_KEY', message: 'is the same as COMMAND_SIGNING_KEY' }]);
  }
}
