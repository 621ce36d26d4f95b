/**
 * The worker's settings: its configuration (parsed once from the environment by `loadConfig`)
 * turned into the typed, frozen object every component takes. Tests build one with
 * {@link testSettings}-style overrides instead of an environment.
 *
 * Invariants:
 * - the environment a COMMAND inherits is read here, once, and only for the allowlisted names;
 * - no variable the worker itself reads (DATABASE_URL, NATS credentials, AI keys, …) can be
 *   allowlisted: such a configuration is refused at start-up.
 */
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { BASE_ENV, type Config, ConfigError, type Env, envOptional, loadConfig } from '@gantry/runtime';
import { WORKER_ENV } from './config.js';
import { resolveStepUser, type StepUsers } from './steps/process/step-user.js';

/** The parsed worker configuration. */
export type WorkerConfig = Config<Omit<typeof BASE_ENV, keyof typeof WORKER_ENV> & typeof WORKER_ENV>;

/** Defaults of AI_ACTION steps. */
export interface AiSettings {
  readonly baseUrl: string;
  readonly model: string;
  /** Sent only to {@link baseUrl}. */
  readonly apiKey: string | undefined;
  /** Secret reference (`<workspaceId>/<name>`, or `*` in place of the id for every workspace) → key. */
  readonly keysBySecret: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly retryBaseMs: number;
}

/** Everything a worker needs to know about itself; see `config.ts` for each value's meaning. */
export interface WorkerSettings {
  readonly workerId: string;
  readonly pool: string;
  readonly concurrency: number;
  /** Slots beyond `concurrency` for jobs the scheduler dispatches express; 0: none. */
  readonly expressSlots: number;
  readonly workDir: string;
  /** The users COMMAND and GATE processes run as; undefined: the worker's own user. */
  readonly stepUsers: StepUsers | undefined;
  /** Allowlisted variables of the worker's environment, with their values. */
  readonly commandEnv: Readonly<Record<string, string>>;
  readonly killGraceMs: number;
  readonly drainGraceMs: number;
  readonly progressIntervalMs: number;
  readonly stepWriteDelayMs: number;
  /** How long an attempt's write is retried while PostgreSQL is unreachable before the attempt is abandoned. */
  readonly writeRetryMs: number;
  /** How often a running attempt checks that it is still this worker's. */
  readonly holdCheckMs: number;
  readonly pullGatherMs: number;
  readonly outputFlushMs: number;
  readonly maxStepOutputBytes: number;
  readonly ai: AiSettings;
}

/** A fresh worker id: the host name's safe characters, the pid and 4 random bytes. */
export function defaultWorkerId(): string {
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 80) || 'worker';
  return `${host}-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function camel(name: string): string {
  const [head = '', ...tail] = name.toLowerCase().split('_');
  return head + tail.map((t) => t.charAt(0).toUpperCase() + t.slice(1)).join('');
}

/** Names the worker reads itself: never passed to a job's processes. */
const OWN_VARIABLES = new Set([...Object.keys(BASE_ENV), ...Object.keys(WORKER_ENV)]);

/**
 * The values of the allowlisted variables `names` in `env` (default: the process environment,
 * read through `loadConfig`). Unset and empty variables are left out.
 */
export function inheritedEnv(names: readonly string[], env?: Env): Record<string, string> {
  const own = names.filter((n) => OWN_VARIABLES.has(n));
  if (own.length > 0) {
    throw new ConfigError(own.map((n) => ({ variable: 'WORKER_COMMAND_ENV', message: `may not pass the worker’s own variable ${n} to jobs` })));
  }
  const shape = Object.fromEntries(names.map((n) => [n, envOptional({ description: 'inherited by job processes' })]));
  const parsed = loadConfig(shape, env) as unknown as Record<string, unknown>;
  const out: Record<string, string> = {};
  for (const name of names) {
    const value = parsed[camel(name)];
    if (typeof value === 'string') out[name] = value;
  }
  return out;
}

/**
 * The settings of a worker configured by `config`; `env` is where allowlisted values are read,
 * `uid` the user the worker runs as.
 */
export function workerSettings(config: WorkerConfig, env?: Env, uid = process.getuid?.()): WorkerSettings {
  const names = [...new Set(config.workerCommandEnv.split(','))];
  const stepUsers = resolveStepUser(config.workerStepUser, uid);
  const running = config.workerConcurrency + config.workerExpressSlots;
  if (stepUsers !== undefined && stepUsers.count > 1 && stepUsers.count < running) {
    const slots = config.workerExpressSlots === 0
      ? `WORKER_CONCURRENCY is ${config.workerConcurrency}`
      : `WORKER_CONCURRENCY and WORKER_EXPRESS_SLOTS are ${config.workerConcurrency} + ${config.workerExpressSlots}`;
    throw new ConfigError([{
      variable: 'WORKER_STEP_USER',
      message: `the range has ${stepUsers.count} users and ${slots}: each running job needs a user of its own`,
    }]);
  }
  return Object.freeze({
    workerId: config.workerId ?? defaultWorkerId(),
    pool: config.workerPool,
    concurrency: config.workerConcurrency,
    expressSlots: config.workerExpressSlots,
    workDir: config.workerWorkDir,
    stepUsers,
    commandEnv: Object.freeze(inheritedEnv(names, env)),
    killGraceMs: config.workerKillGraceMs,
    drainGraceMs: config.workerDrainGraceMs,
    progressIntervalMs: config.workerProgressIntervalMs,
    stepWriteDelayMs: config.workerStepWriteDelayMs,
    writeRetryMs: config.workerWriteRetryMs,
    holdCheckMs: config.workerHoldCheckMs,
    pullGatherMs: config.workerPullGatherMs,
    outputFlushMs: config.workerOutputFlushMs,
    maxStepOutputBytes: config.workerMaxStepOutputBytes,
    ai: Object.freeze({
      baseUrl: config.aiBaseUrl,
      model: config.aiModel,
      apiKey: config.aiApiKey,
      keysBySecret: config.aiApiKeyBySecret,
      timeoutMs: config.aiTimeoutMs,
      maxRetries: config.aiMaxRetries,
      retryBaseMs: config.aiRetryBaseMs,
    }),
  });
}

/** Loads the worker configuration from `env` (default: the process environment) and derives its settings. */
export function loadWorkerSettings(env?: Env, uid?: number): WorkerSettings {
  return workerSettings(loadConfig(WORKER_ENV, env), env, uid);
}
