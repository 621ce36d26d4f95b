/**
 * Structured JSON logs (pino) with the service and version on every line and secrets
 * redacted. Secrets are removed by key (authorization headers, tokens, passwords, API keys,
 * NATS credentials and seeds); credentials inside URLs are removed with {@link redactUrl}
 * or, for a whole configuration object, {@link loggableConfig}.
 */
import { hostname } from 'node:os';
import { pino, stdTimeFunctions, type DestinationStream, type Logger as PinoLogger } from 'pino';
import type { LogLevel } from './config.js';

/** The logger every Gantry component takes. */
export type Logger = PinoLogger;

/** What replaces a redacted value. */
export const REDACTED = '[Redacted]';

const SECRET_KEYS = [
  'password',
  'pass',
  'token',
  'apiKey',
  'api_key',
  'secret',
  'creds',
  'credentials',
  'seed',
  'nkeySeed',
  'natsPassword',
  'natsToken',
  'commandSigningKey',
];

const HEADER_KEYS = ['authorization', 'cookie', 'set-cookie', 'gantry-token', 'Gantry-Token', 'gantry-grant', 'Gantry-Grant'];

function headerPaths(): string[] {
  return ['headers', 'req.headers', 'request.headers', 'res.headers', '*.headers'].flatMap(
    (prefix) => HEADER_KEYS.map((key) => (/^\w+$/.test(key) ? `${prefix}.${key}` : `${prefix}["${key}"]`)),
  );
}

/** The pino redaction paths: each secret key at the top level and one level down. */
export const REDACT_PATHS: readonly string[] = Object.freeze([
  ...SECRET_KEYS.flatMap((key) => [key, `*.${key}`]),
  ...headerPaths(),
]);

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** The service name, on every line as `service`. */
  readonly service: string;
  /** The running version, on every line as `version`. */
  readonly version: string;
  /** Least severe level written; default `info`. */
  readonly level?: LogLevel;
  /** Where lines go; default stdout. Tests pass a stream to capture them. */
  readonly destination?: DestinationStream;
}

/**
 * A pino logger writing one JSON object per line with `level` as a label, an ISO `time`, and
 * `service`, `version` and `hostname` base fields; secrets at {@link REDACT_PATHS} are censored.
 */
export function createLogger(opts: LoggerOptions): Logger {
  const options = {
    level: opts.level ?? 'info',
    base: { service: opts.service, version: opts.version, hostname: hostname() },
    timestamp: stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: [...REDACT_PATHS], censor: REDACTED },
  };
  return opts.destination ? pino(options, opts.destination) : pino(options);
}

/** What a URL's user name and password are replaced with (URL-safe, unlike {@link REDACTED}). */
export const URL_CREDENTIAL_MASK = '***';

/** Query parameters that carry a secret (libpq's `password` and `sslpassword`, a `token`…). */
const SECRET_PARAMETER = /(password|token|secret|key)$/i;

function redactOneUrl(raw: string): string {
  if (!URL.canParse(raw)) return raw;
  const url = new URL(raw);
  const secretParameters = [...url.searchParams.keys()].filter((k) => SECRET_PARAMETER.test(k));
  if (url.username === '' && url.password === '' && secretParameters.length === 0) return raw;
  // A NATS URL carries a token where the user name goes, so both are masked.
  url.username = url.username === '' ? '' : URL_CREDENTIAL_MASK;
  url.password = url.password === '' ? '' : URL_CREDENTIAL_MASK;
  for (const k of secretParameters) url.searchParams.set(k, URL_CREDENTIAL_MASK);
  return url.toString();
}

/**
 * `raw` with the user name, the password and the secret query parameters (`?password=`,
 * `sslpassword`, `token`…) of every URL in it replaced by {@link URL_CREDENTIAL_MASK};
 * accepts a comma-separated list (as `NATS_URL`). A string that is not a URL is returned as is.
 */
export function redactUrl(raw: string): string {
  return raw
    .split(',')
    .map((part) => {
      const trimmed = part.trim();
      const redacted = redactOneUrl(trimmed);
      return redacted === trimmed ? part : part.replace(trimmed, redacted);
    })
    .join(',');
}

// `key`: an API key, a signing key (COMMAND_SIGNING_KEY); a key *file* ends in `File` and shows.
const SECRET_PROPERTY = /(password|token|secret|apikey|api_key|seed|creds|key)$/i;
const URL_PROPERTY = /(url|urls)$/i;

function loggableValue(key: string, value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (SECRET_PROPERTY.test(key)) return REDACTED;
  if (URL_PROPERTY.test(key)) {
    if (typeof value === 'string') return redactUrl(value);
    if (Array.isArray(value)) return value.map((v) => (typeof v === 'string' ? redactUrl(v) : v));
  }
  return value;
}

/**
 * A copy of a configuration object that is safe to log: properties named like secrets
 * (`natsPassword`, `natsToken`, …) are censored and credentials are stripped from properties
 * named like URLs (`databaseUrl`, `natsUrl`). Paths to secret files are kept.
 */
export function loggableConfig(config: object): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(config)) out[key] = loggableValue(key, value);
  return out;
}
