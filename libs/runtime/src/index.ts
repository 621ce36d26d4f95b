/**
 * @gantry/runtime — what every Gantry service (api, scheduler, worker) shares: configuration
 * from the environment, logging, metrics, health endpoints, the NATS connection and its
 * provisioning, the batched JetStream publisher, and the lifecycle of long-running components.
 *
 * This is the curated public entry; `@gantry/runtime/internal` exposes the building blocks
 * behind it for tests and tools.
 */

export {
  /** Parses the environment (base variables plus a service's own) into a frozen, typed object. */
  loadConfig,
  /** The environment is invalid; names every bad variable. */
  ConfigError,
  /** The variables every service reads, as env-variable name → schema. */
  BASE_ENV,
  /** The log levels `LOG_LEVEL` accepts. */
  LOG_LEVELS,
} from './config.js';
export type {
  /** The parsed configuration of an env shape: one camelCase property per variable. */
  Config,
  /** The configuration every service has. */
  BaseConfig,
  /** The type of {@link BASE_ENV}. */
  BaseEnv,
  /** Env-variable name → schema. */
  EnvShape,
  /** Environment variables by name; `process.env` fits. */
  Env,
  /** One bad variable and what is wrong with it. */
  ConfigIssue,
  /** One of {@link LOG_LEVELS}. */
  LogLevel,
} from './config.js';

export {
  /** The documented list of variables (name, default, description) of a service. */
  describeConfig,
  /** A Markdown table of variables for the README. */
  configTable,
} from './config-docs.js';
export type {
  /** One environment variable as documented. */
  ConfigVariable,
} from './config-docs.js';

export {
  /** An integer variable within bounds, with a default. */
  envInt,
  /** A string variable with a default and an optional pattern. */
  envString,
  /** An optional string variable: a user name, a secret, a file path. */
  envOptional,
  /** One of a fixed set of values. */
  envEnum,
  /** A URL with one of the given schemes. */
  envUrl,
  /** A comma-separated list of URLs, read as an array. */
  envUrlList,
} from './env.js';

export {
  /** A pino JSON logger with service/version base fields and secrets redacted. */
  createLogger,
  /** Strips user names and passwords from a URL or comma-separated list of URLs. */
  redactUrl,
  /** A copy of a configuration object that is safe to log. */
  loggableConfig,
  /** The replacement text of redacted values. */
  REDACTED,
} from './logger.js';
export type {
  /** The logger every Gantry component takes. */
  Logger,
  /** Options of {@link createLogger}. */
  LoggerOptions,
} from './logger.js';

export {
  /** A service's own Prometheus registry with process metrics and `gantry_service_info`. */
  createMetrics,
  /** A counter on a registry, created on first use. */
  counterOn,
  /** A gauge on a registry, created on first use. */
  gaugeOn,
  /** A histogram on a registry, created on first use. */
  histogramOn,
  /** A label whose first N distinct values get their own series, later ones `other`. */
  boundedLabel,
  /** The label value of values past a bounded label's first N. */
  OTHER_LABEL,
} from './metrics.js';
export type {
  /** A service's metrics registry and its exposition. */
  Metrics,
  /** Options of {@link createMetrics}. */
  MetricsOptions,
} from './metrics.js';

export {
  /** The `onFlush` of a JobWriter: records events written, batch sizes, commit times and errors. */
  writeFlushRecorder,
} from './write-metrics.js';
export type {
  /** What one flush of a job writer did. */
  FlushCounts,
} from './write-metrics.js';

export {
  /** Framework-neutral `/healthz`, `/readyz` and `/metrics` handlers. */
  createHealthHandlers,
  /** The health endpoint paths. */
  HealthPaths,
  /** Time a readiness check may take when it does not say. */
  DEFAULT_CHECK_TIMEOUT_MS,
  /** The message of anything thrown: an Error's message, anything else as a string. */
  messageOf,
} from './health.js';
export type {
  /** A named readiness check with a timeout. */
  ReadinessCheck,
  /** The outcome of one readiness check. */
  CheckResult,
  /** The body of `/readyz`. */
  ReadinessReport,
  /** A response for any HTTP framework to write. */
  HealthResponse,
  /** The three health handlers. */
  HealthHandlers,
  /** Options of {@link createHealthHandlers}. */
  HealthHandlersOptions,
} from './health.js';

export {
  /** The scheduler's and workers' health/metrics HTTP server, a lifecycle component. */
  createHealthServer,
} from './health-server.js';
export {
  /** A lifecycle component around a listening HTTP server, with its bound port and URL. */
  listeningComponent,
  /** The URL a local client reaches a server bound to a host and port at. */
  httpUrl,
} from './listening.js';
export type {
  /** A listening server's component. */
  ListeningComponent,
  /** Options of {@link listeningComponent}. */
  ListeningOptions,
} from './listening.js';
export {
  /** Whether a TCP server accepts connections on a host and port. */
  answers,
} from './net.js';
export {
  /** Loads a module and takes off the signal handlers its loading installed. */
  withoutNewSignalHandlers,
} from './signal-handlers.js';
export type {
  /** A running health server and its bound port. */
  HealthServer,
  /** Options of {@link createHealthServer}. */
  HealthServerOptions,
} from './health-server.js';

export {
  /** Connects to NATS as configured; reconnects forever, logs status, is tracked until closed. */
  connectNats,
  /** A readiness check on a NATS connection. */
  natsReadinessCheck,
} from './nats.js';
export type {
  /** The configuration a NATS connection reads. */
  NatsConfig,
  /** Options of {@link connectNats}. */
  ConnectNatsOptions,
} from './nats.js';

export {
  /** Idempotently provisions a namespace's streams, consumers and buckets. */
  provision,
  /** Creates or updates one stream. */
  ensureStream,
  /** Creates or updates one durable consumer. */
  ensureConsumer,
  /** Creates or updates one object store bucket. */
  ensureObjectBucket,
  /** Deletes a namespace's streams and buckets (tests, teardown). */
  deleteNamespace,
  /** The streams of a namespace, including those behind its buckets. */
  namespaceStreams,
  /** The server refused to create or update a resource. */
  ProvisionError,
} from './provision.js';
export type {
  /** What provisioning did to one resource. */
  ProvisionResult,
  /** Created, updated or unchanged. */
  ProvisionOutcome,
  /** Options of {@link provision}. */
  ProvisionOptions,
} from './provision.js';

export {
  /** The bounded asynchronous JetStream publisher of hot paths. */
  createPublisher,
  /** Publishes in flight when not told (256). */
  DEFAULT_MAX_IN_FLIGHT,
} from './publisher.js';
export type {
  /** A bounded, asynchronous JetStream publisher. */
  Publisher,
  /** Options of {@link createPublisher}. */
  PublisherOptions,
  /** Options of one publish. */
  PublishOptions,
  /** One message of `publishAll`. */
  OutgoingMessage,
} from './publisher.js';

export {
  /** Builds a lifecycle component from a setup and an abortable run loop. */
  startStop,
  /** Adds views (getters, methods) to a component without forwarding its lifecycle members. */
  withViews,
  /** Waits some milliseconds unless a signal aborts; never rejects. */
  delay,
  /** Resolves when a signal aborts. */
  aborted,
  /** A stop gave up waiting for in-flight work. */
  StopTimeoutError,
  /** The abort reason of a component that is stopping. */
  StopRequested,
  /** How long a stop waits when not told. */
  DEFAULT_STOP_TIMEOUT_MS,
} from './lifecycle.js';
export type {
  /** The lifecycle contract of every long-running component. */
  Component,
  /** A component built by {@link startStop}. */
  StartStopComponent,
  /** What {@link startStop} builds a component from. */
  StartStopOptions,
  /** Options of a stop. */
  StopOptions,
  /** The state of a {@link startStop} component. */
  ComponentState,
} from './lifecycle.js';

export {
  /** Runs a service's components until SIGTERM/SIGINT, then stops them within a deadline. */
  runService,
  /** The options of {@link runService} a service takes from its configuration. */
  shutdownOptions,
  /** Exit code of a clean shutdown. */
  EXIT_OK,
  /** Exit code of a failed start, run or stop. */
  EXIT_FAILURE,
  /** Exit code when a second signal forces the exit. */
  EXIT_FORCED,
} from './run-service.js';
export type {
  /** Options of {@link runService}. */
  RunServiceOptions,
  /** The part of `process` that {@link runService} uses. */
  ServiceProcess,
} from './run-service.js';

export {
  /** Records an open connection or server until the returned function is called. */
  trackResource,
  /** The resources open now, for leak checks and shutdown logs. */
  openResources,
} from './resources.js';
export type {
  /** An open connection or server. */
  OpenResource,
} from './resources.js';

export {
  /** Config, logger, metrics and the NATS connection every service starts with. */
  serviceBase,
  /** A component that closes a connection or pool when the service stops. */
  closing,
} from './service-kit.js';
export type {
  /** What {@link serviceBase} gives a service. */
  ServiceBase,
} from './service-kit.js';

export {
  /** Publishes committed JobEvents on the events stream, one message per job per commit. */
  createEventFanout,
} from './event-fanout.js';
export type {
  /** A committed write's events. */
  CommittedEvents,
  /** Publishes committed events; never throws. */
  EventFanout,
  /** Options of {@link createEventFanout}. */
  EventFanoutOptions,
} from './event-fanout.js';
