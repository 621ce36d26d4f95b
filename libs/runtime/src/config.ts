/**
 * Configuration, parsed once at start-up from the environment into a frozen, typed object.
 * This module is the only place in Gantry that reads `process.env`.
 *
 * A service describes its variables as a shape of env-variable name → schema (see `env.ts`)
 * and calls {@link loadConfig}; the shared {@link BASE_ENV} is always included. Each variable
 * becomes a camelCase property (`SHUTDOWN_TIMEOUT_MS` → `shutdownTimeoutMs`), so units stay in
 * the names. A bad environment throws one {@link ConfigError} naming every bad variable.
 */
import { z } from 'zod';
import { DEFAULT_NAMESPACE, NAMESPACE_PATTERN } from '@gantry/contracts';
import { envEnum, envInt, envOptional, envString, envUrl, envUrlList } from './env.js';

/** Environment variables by name; `process.env` fits. */
export type Env = Readonly<Record<string, string | undefined>>;

/** Env-variable name → schema reading its string value. */
export type EnvShape = Readonly<Record<string, z.ZodType<unknown, string | undefined>>>;

/** `NATS_TLS_CA_FILE` → `natsTlsCaFile`. */
export type CamelCase<S extends string> = S extends `${infer Head}_${infer Tail}`
  ? `${Lowercase<Head>}${Capitalize<CamelCase<Tail>>}`
  : Lowercase<S>;

type DeepReadonly<T> = T extends readonly (infer E)[]
  ? readonly DeepReadonly<E>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** The parsed configuration of a shape: one camelCase, read-only property per variable. */
export type Config<S extends EnvShape> = {
  readonly [K in keyof S & string as CamelCase<K>]: DeepReadonly<z.output<S[K]>>;
};

/** Log levels, most severe first; `silent` logs nothing. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
/** One of {@link LOG_LEVELS}. */
export type LogLevel = (typeof LOG_LEVELS)[number];

/** The variables every service reads. */
export const BASE_ENV = {
  DATABASE_URL: envUrl({
    default: 'postgres://postgres@127.0.0.1:5432/gantry',
    protocols: ['postgres', 'postgresql'],
    description: 'PostgreSQL connection URL (the system of record).',
  }),
  DB_POOL_SIZE: envInt({
    default: 10,
    min: 1,
    max: 1000,
    description: 'Connections in this process’s PostgreSQL pool.',
  }),
  NATS_URL: envUrlList({
    default: 'nats://127.0.0.1:4222',
    protocols: ['nats', 'tls'],
    description: 'NATS server URL, or a comma-separated list of a cluster’s URLs; a tls:// URL requires TLS (a server that offers none is refused).',
  }),
  NATS_USER: envOptional({ description: 'NATS user name; requires NATS_PASSWORD.' }),
  NATS_PASSWORD: envOptional({ description: 'NATS password; requires NATS_USER. Secret.' }),
  NATS_TOKEN: envOptional({ description: 'NATS authentication token. Secret.' }),
  NATS_CREDS_FILE: envOptional({ description: 'Path to a NATS credentials (.creds) file.' }),
  NATS_NKEY_SEED_FILE: envOptional({ description: 'Path to a file holding an NKey seed.' }),
  NATS_TLS_CA_FILE: envOptional({ description: 'Path to the CA certificate that signs the NATS servers’ certificates.' }),
  NATS_TLS_CERT_FILE: envOptional({ description: 'Path to this client’s TLS certificate; requires NATS_TLS_KEY_FILE.' }),
  NATS_TLS_KEY_FILE: envOptional({ description: 'Path to this client’s TLS key; requires NATS_TLS_CERT_FILE.' }),
  GANTRY_NAMESPACE: envString({
    default: DEFAULT_NAMESPACE,
    pattern: NAMESPACE_PATTERN,
    patternHint: 'must start with a lower case letter, then up to 31 lower case letters, digits, _ or -',
    description: 'Prefix of every stream, consumer, subject and bucket name of this deployment.',
  }),
  LOG_LEVEL: envEnum(LOG_LEVELS, { default: 'info', description: 'Least severe log level written.' }),
  SHUTDOWN_TIMEOUT_MS: envInt({
    default: 25_000,
    min: 0,
    max: 3_600_000,
    description: 'Milliseconds a SIGTERM waits for in-flight work before the process gives up.',
  }),
  STOP_ON_STDIN_EOF: envEnum(['true', 'false'], {
    default: 'false',
    description: 'true: stop as on SIGTERM once standard input ends, so that a supervisor holding a pipe to the process (the test harness) never leaves it running when it dies.',
  }),
} satisfies EnvShape;

/** The shape of {@link BASE_ENV}. */
export type BaseEnv = typeof BASE_ENV;

/** The configuration every service has. */
export type BaseConfig = Config<BaseEnv>;

/** One bad variable and what is wrong with it. */
export interface ConfigIssue {
  readonly variable: string;
  readonly message: string;
}

/** The environment is invalid; {@link issues} names every bad variable. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(
      `invalid configuration:\n${issues.map((i) => `  ${i.variable}: ${i.message}`).join('\n')}`,
    );
    this.issues = Object.freeze([...issues]);
  }

  /** The names of the bad variables, each once, in the order found. */
  get variables(): readonly string[] {
    return [...new Set(this.issues.map((i) => i.variable))];
  }
}

/** `NATS_TLS_CA_FILE` → `natsTlsCaFile`. */
export function camelCase<S extends string>(name: S): CamelCase<S> {
  const [head = '', ...tail] = name.toLowerCase().split('_');
  return (head + tail.map((t) => t.charAt(0).toUpperCase() + t.slice(1)).join('')) as CamelCase<S>;
}

function normalize(shape: EnvShape, env: Env): Record<string, string | undefined> {
  const raw: Record<string, string | undefined> = {};
  for (const name of Object.keys(shape)) {
    const value = env[name];
    raw[name] = value === undefined || value.trim() === '' ? undefined : value;
  }
  return raw;
}

function pairIssues(raw: Env, a: string, b: string): ConfigIssue[] {
  if (raw[a] !== undefined && raw[b] === undefined) {
    return [{ variable: b, message: `must be set when ${a} is set` }];
  }
  if (raw[b] !== undefined && raw[a] === undefined) {
    return [{ variable: a, message: `must be set when ${b} is set` }];
  }
  return [];
}

const AUTH_METHODS = ['NATS_USER', 'NATS_TOKEN', 'NATS_CREDS_FILE', 'NATS_NKEY_SEED_FILE'];

function authIssues(raw: Env): ConfigIssue[] {
  const set = AUTH_METHODS.filter((name) => raw[name] !== undefined);
  if (set.length < 2) return [];
  return set.map((variable) => ({
    variable,
    message: `conflicts with ${set.filter((n) => n !== variable).join(', ')}: set one NATS authentication method`,
  }));
}

function crossIssues(raw: Env): ConfigIssue[] {
  return [
    ...pairIssues(raw, 'NATS_USER', 'NATS_PASSWORD'),
    ...pairIssues(raw, 'NATS_TLS_CERT_FILE', 'NATS_TLS_KEY_FILE'),
    ...authIssues(raw),
  ];
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

/**
 * Parses `env` (default `process.env`) against {@link BASE_ENV} plus `shape` (a service's own
 * variables; a name in both takes the service's schema) and returns a deeply frozen object.
 * Throws a {@link ConfigError} listing every bad variable.
 */
export function loadConfig<S extends EnvShape = Record<never, never>>(
  shape?: S,
  env: Env = process.env,
): Config<Omit<BaseEnv, keyof S> & S> {
  const full: EnvShape = { ...BASE_ENV, ...shape };
  const raw = normalize(full, env);
  const parsed = z.object(full).safeParse(raw);
  const issues: ConfigIssue[] = parsed.success
    ? []
    : parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '(environment)'), message: i.message }));
  issues.push(...crossIssues(raw));
  if (issues.length > 0 || !parsed.success) throw new ConfigError(issues);
  const config: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(parsed.data)) config[camelCase(name)] = value;
  return deepFreeze(config) as Config<Omit<BaseEnv, keyof S> & S>;
}
