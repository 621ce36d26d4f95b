/** The api's own environment variables, on top of the shared ones. */
import { envInt, envString } from '@gantry/runtime';

export const API_ENV = {
  PORT: envInt({ default: 8080, min: 0, max: 65_535, description: 'Port of the HTTP API, which also serves /metrics, /healthz, /readyz.' }),
  HTTP_HOST: envString({ default: '0.0.0.0', description: 'Address the HTTP server listens on.' }),
  RATE_LIMIT_PER_SECOND: envInt({
    default: 100,
    min: 0,
    max: 1_000_000,
    description: 'Requests per second each API token may make on average; 0 turns the rate limit off.',
  }),
  RATE_LIMIT_BURST: envInt({
    default: 200,
    min: 1,
    max: 1_000_000,
    description: 'Requests a token may make at once above its rate before it gets 429 with Retry-After.',
  }),
  AUTH_FAILURES_PER_MINUTE: envInt({
    default: 60,
    min: 0,
    max: 1_000_000,
    description: 'Failed authentications (a well-formed token that is unknown, revoked or expired) each client address (an IPv6 /64) may make per minute on average; past them and the burst, a token it has not been seen to use within the hour gets 429 with Retry-After, without a lookup. 0 turns the limit off.',
  }),
  AUTH_FAILURE_BURST: envInt({
    default: 30,
    min: 1,
    max: 1_000_000,
    description: 'Failed authentications a client address may make at once above AUTH_FAILURES_PER_MINUTE.',
  }),
  TRUSTED_PROXIES: envString({
    default: '',
    pattern: /^[\s\d.:/a-fA-F,]*$/,
    patternHint: 'must be a comma-separated list of IP addresses and CIDR ranges',
    description: 'Comma-separated addresses and CIDR ranges of the proxies in front of the API (an ingress controller, a load balancer): from a connection of theirs, X-Forwarded-For names the client address that AUTH_FAILURES_PER_MINUTE counts. Empty: the connection’s address, and the header is ignored.',
  }),
  AUTH_CACHE_MS: envInt({
    default: 5_000,
    min: 0,
    max: 300_000,
    description: 'Milliseconds a verified token is trusted before it is looked up again; a revocation or expiry takes effect within this time. 0 looks up every request.',
  }),
  SSE_KEEPALIVE_MS: envInt({
    default: 15_000,
    min: 10,
    max: 300_000,
    description: 'Milliseconds between keep-alive comments on an idle event stream; each also checks PostgreSQL for events NATS did not deliver.',
  }),
  SSE_RETRY_MS: envInt({
    default: 2_000,
    min: 0,
    max: 300_000,
    description: 'The `retry:` hint sent to event-stream clients: milliseconds to wait before reconnecting.',
  }),
  SSE_MAX_CLIENTS: envInt({
    default: 1_000,
    min: 1,
    max: 100_000,
    description: 'Event streams this process serves at once (each holds a NATS consumer); more answer 503.',
  }),
  SSE_MAX_CLIENTS_PER_WORKSPACE: envInt({
    default: 200,
    min: 1,
    max: 100_000,
    description: 'Event streams this process serves at once for one workspace, so that one tenant cannot hold every place; more answer 429.',
  }),
  COMMAND_SIGNING_KEY: envString({
    default: '',
    pattern: /^(|.{32,})$/s,
    patternHint: 'must be at least 32 characters (e.g. `openssl rand -hex 32`), or empty',
    description: 'A secret shared with the scheduler: the retry and approve commands the API publishes for its callers carry a grant signed with it (`Gantry-Grant`) instead of the caller’s bearer token, which would otherwise rest in the commands stream until the scheduler acks it. Empty: the token is sent.',
  }),
  PUBLISH_BACKLOG: envInt({
    default: 20_000,
    min: 0,
    max: 10_000_000,
    description: 'Messages (submit commands, events) that may wait to be published after their commit; beyond it new ones are dropped: the scheduler’s reconciler queues those jobs and event readers catch up from PostgreSQL.',
  }),
};
