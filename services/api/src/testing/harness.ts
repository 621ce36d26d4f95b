/**
 * Test support (this package's tests, and others' as `@gantry/api/testing`): a real API server
 * listening on a free port against a test database and NATS namespace, workspaces with tokens,
 * and a small HTTP client.
 */
import type { DestinationStream } from 'pino';
import type { NatsConnection } from '@nats-io/transport-node';
import { createLogger, createMetrics, type Logger } from '@gantry/runtime';
import { createPool, type Pool } from '@gantry/store';
import { createWorkspace } from '@gantry/testkit';
import { mintToken, type TokenScope } from '@gantry/store';
import { createApiServer, type ApiServer, type ApiServerConfig } from '../server.js';

/** Settings tests start with: no rate limit, no token cache, the real defaults otherwise. */
export const TEST_SETTINGS = {
  rateLimitPerSecond: 0,
  rateLimitBurst: 1,
  authCacheMs: 0,
  authFailuresPerMinute: 0,
  authFailureBurst: 1,
  trustedProxies: '',
  commandSigningKey: '',
  sseKeepaliveMs: 15_000,
  sseRetryMs: 2_000,
  sseMaxClients: 100,
  sseMaxClientsPerWorkspace: 100,
  publishBacklog: 20_000,
} as const;

/** A running test API and a pool of the test's own on the same database. */
export interface TestApi {
  readonly server: ApiServer;
  readonly url: string;
  /** The test's pool (not the server's), for assertions and fixtures. */
  readonly pool: Pool;
  /** A fresh workspace with a token of each scope. */
  workspace(): Promise<TestWorkspace>;
  /** An HTTP call to the server. */
  call(method: string, path: string, opts?: CallOptions): Promise<Answer>;
  /** Stops the server and ends the pool. */
  stop(): Promise<void>;
}

export interface TestWorkspace {
  readonly id: string;
  readonly reader: string;
  readonly writer: string;
  readonly admin: string;
  /** Inserts another token of this workspace. */
  token(scopes: readonly TokenScope[], opts?: { expiresAt?: Date; revoked?: boolean }): Promise<{ id: string; token: string }>;
}

export interface CallOptions {
  readonly token?: string;
  /** Serialised as JSON unless it is a string. */
  readonly body?: unknown;
  readonly headers?: Record<string, string>;
}

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly body: unknown;
  readonly text: string;
}

/** Options of {@link startTestApi}. */
export interface TestApiOptions {
  readonly databaseUrl: string;
  readonly namespace: string;
  readonly nc: NatsConnection;
  readonly settings?: Partial<ApiServerConfig>;
  /** Where the server logs; silent when absent. */
  readonly logs?: DestinationStream;
}

/** Inserts a token for `workspaceId` the way the CLI does; returns its id and secret. */
export async function insertToken(
  pool: Pool,
  workspaceId: string,
  scopes: readonly TokenScope[],
  opts: { expiresAt?: Date; revoked?: boolean } = {},
): Promise<{ id: string; token: string }> {
  const minted = mintToken();
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO api_tokens (workspace_id, name, token_hash, prefix, scopes, expires_at, revoked_at)
     VALUES ($1, 'test', $2, $3, $4, $5, CASE WHEN $6 THEN now() END) RETURNING id`,
    [workspaceId, minted.hash, minted.prefix, scopes, opts.expiresAt ?? null, opts.revoked ?? false],
  );
  return { id: rows[0]!.id, token: minted.token };
}

/** An HTTP call against `base`. */
export async function call(base: string, method: string, path: string, opts: CallOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.body !== undefined) {
    body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    headers['content-type'] ??= 'application/json';
  }
  const res = await fetch(`${base}${path}`, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = undefined;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: res.status, headers: res.headers, body: parsed, text };
}

/** A silent logger, or one writing to `logs`. */
export function testLogger(logs?: DestinationStream): Logger {
  return createLogger({ service: 'api', version: 'test', level: logs ? 'info' : 'silent', ...(logs ? { destination: logs } : {}) });
}

/** Starts the API on a free port of 127.0.0.1. */
export async function startTestApi(opts: TestApiOptions): Promise<TestApi> {
  const config: ApiServerConfig = {
    databaseUrl: opts.databaseUrl,
    dbPoolSize: 10,
    gantryNamespace: opts.namespace,
    httpHost: '127.0.0.1',
    port: 0,
    ...TEST_SETTINGS,
    ...opts.settings,
  };
  const server = createApiServer({
    config,
    nc: opts.nc,
    logger: testLogger(opts.logs),
    metrics: createMetrics({ service: 'api', version: 'test', defaultMetrics: false }),
    version: 'test',
  });
  await server.start();
  const pool = createPool(opts.databaseUrl, { max: 4, applicationName: 'api-test' });
  const url = server.url;
  return {
    server,
    url,
    pool,
    async workspace() {
      const id = await createWorkspace(pool);
      const [reader, writer, admin] = await Promise.all(
        (['jobs:read', 'jobs:write', 'jobs:admin'] as const).map((s) => insertToken(pool, id, [s])),
      );
      return {
        id,
        reader: reader!.token,
        writer: writer!.token,
        admin: admin!.token,
        token: (scopes, o) => insertToken(pool, id, scopes, o),
      };
    },
    call: (method, path, o) => call(url, method, path, o),
    async stop() {
      try {
        await server.stop();
      } finally {
        await pool.end();
      }
    },
  };
}
