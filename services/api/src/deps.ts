/**
 * What the HTTP app is built from: connections, the components it writes and publishes through,
 * and its settings. `server.ts` makes them for a process; tests make them the same way.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import type { CommittedEvents, Logger, Metrics, Publisher } from '@gantry/runtime';
import type { Names } from '@gantry/contracts';
import type { JobWriter, Pool } from '@gantry/store';
import type { Announcer } from './announcer.js';
import type { Authenticator } from './auth/authenticator.js';
import type { RateLimiter } from './auth/rate-limit.js';
import type { HeartbeatView } from './heartbeats.js';
import type { SubmitBatcher } from './jobs/submit-batcher.js';
import type { ApiMetrics } from './metrics.js';
import type { StreamRegistry } from './sse/registry.js';

/** The settings the app reads (a subset of the api's configuration). */
export interface ApiSettings {
  /** Requests per second per token; 0 turns the limit off. */
  readonly rateLimitPerSecond: number;
  readonly rateLimitBurst: number;
  /** How long a verified token is trusted. */
  readonly authCacheMs: number;
  /** Failed authentications per minute per client address; 0 turns the limit off. */
  readonly authFailuresPerMinute: number;
  readonly authFailureBurst: number;
  /** Addresses and CIDR ranges of the proxies whose X-Forwarded-For names the client (comma-separated); empty ignores the header. */
  readonly trustedProxies: string;
  /** Milliseconds between keep-alive comments on an event stream. */
  readonly sseKeepaliveMs: number;
  /** The `retry:` hint of event streams, milliseconds. */
  readonly sseRetryMs: number;
  /** Event streams served at once. */
  readonly sseMaxClients: number;
  /** Event streams served at once for one workspace. */
  readonly sseMaxClientsPerWorkspace: number;
  /** The key command grants are signed with (shared with the scheduler); empty sends the caller's token instead. */
  readonly commandSigningKey: string;
  /** Messages that may wait to be published after their commit before new ones are dropped. */
  readonly publishBacklog: number;
}

/** Everything the routes use. */
export interface ApiDeps {
  readonly pool: Pool;
  readonly names: Names;
  /** Core NATS: cancel signals. */
  readonly nc: NatsConnection;
  /** JetStream: live event consumers. */
  readonly js: JetStreamClient;
  /** The bounded async JetStream publisher (commands the request waits for). */
  readonly publisher: Publisher;
  /** The background lane for submit commands and events (nobody waits for them). */
  readonly announcer: Announcer;
  /** Group-commits single-job submits. */
  readonly submits: SubmitBatcher;
  /** The API's own job transitions (cancels), group-committed. */
  readonly writer: JobWriter;
  /** Publishes committed events on the events stream. */
  readonly fanOut: (committed: readonly CommittedEvents[]) => void;
  readonly authenticator: Authenticator;
  readonly rateLimiter: RateLimiter;
  /** Failed authentications per client address (`request.ip`). */
  readonly authFailures: RateLimiter;
  readonly heartbeats: HeartbeatView;
  /** The event streams open now. */
  readonly streams: StreamRegistry;
  readonly metrics: Metrics;
  readonly apiMetrics: ApiMetrics;
  readonly logger: Logger;
  readonly settings: ApiSettings;
}
