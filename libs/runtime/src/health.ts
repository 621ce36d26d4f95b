/**
 * Health endpoints as framework-neutral handlers, so the API's Fastify app and the
 * scheduler's and workers' small node:http server answer with the same logic:
 * - `/healthz` (liveness): the process serves; touches no dependency, always 200;
 * - `/readyz` (readiness): runs every readiness check in parallel, each bounded by a timeout;
 *   200 with each check's result when all pass, 503 when any fails or times out;
 * - `/metrics`: the service's Prometheus registry.
 */
import type { Metrics } from './metrics.js';

/** The paths the handlers answer. */
export const HealthPaths = {
  healthz: '/healthz',
  readyz: '/readyz',
  metrics: '/metrics',
} as const;

/** How long a readiness check may take when it does not say (probe timeouts must exceed it). */
export const DEFAULT_CHECK_TIMEOUT_MS = 2_000;

/** A named readiness check: resolves when the dependency is usable, rejects otherwise. */
export interface ReadinessCheck {
  /** Short, stable name, e.g. `nats` or `postgres`. */
  readonly name: string;
  /** The probe; its signal aborts when the check times out. */
  readonly check: (signal: AbortSignal) => Promise<unknown>;
  /** Time allowed; default {@link DEFAULT_CHECK_TIMEOUT_MS}. */
  readonly timeoutMs?: number;
}

/** The outcome of one check. */
export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly durationMs: number;
  /** Why it failed. */
  readonly error?: string;
}

/** A response in plain terms, written by whichever HTTP framework serves it. */
export interface HealthResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** The body of `/readyz`. */
export interface ReadinessReport {
  readonly status: 'ready' | 'not ready';
  readonly checks: readonly CheckResult[];
}

class CheckTimeoutError extends Error {
  override readonly name = 'CheckTimeoutError';
}

/** The message of anything thrown: an Error's message, anything else as a string. */
export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Runs one check within its timeout; never rejects. */
export async function runCheck(check: ReadinessCheck): Promise<CheckResult> {
  const timeoutMs = check.timeoutMs ?? DEFAULT_CHECK_TIMEOUT_MS;
  const controller = new AbortController();
  const startedAt = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new CheckTimeoutError(`timed out after ${timeoutMs} ms`);
      controller.abort(err);
      reject(err);
    }, timeoutMs);
  });
  try {
    await Promise.race([Promise.resolve().then(() => check.check(controller.signal)), timeout]);
    return { name: check.name, ok: true, durationMs: elapsed(startedAt) };
  } catch (err) {
    return { name: check.name, ok: false, durationMs: elapsed(startedAt), error: messageOf(err) };
  } finally {
    clearTimeout(timer);
  }
}

function elapsed(startedAt: number): number {
  return Math.round((performance.now() - startedAt) * 10) / 10;
}

/** Runs every check in parallel. */
export async function runChecks(checks: readonly ReadinessCheck[]): Promise<ReadinessReport> {
  const results = await Promise.all(checks.map(runCheck));
  return { status: results.every((r) => r.ok) ? 'ready' : 'not ready', checks: results };
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' };

/** The three health handlers of a service. */
export interface HealthHandlers {
  /** Liveness: always 200 while the process serves. */
  healthz(): HealthResponse;
  /** Readiness: 200 when every check passes, 503 otherwise; the body is a {@link ReadinessReport}. */
  readyz(): Promise<HealthResponse>;
  /** Prometheus exposition of the service's registry; 404 when none was given. */
  metrics(): Promise<HealthResponse>;
}

/** Options of {@link createHealthHandlers}. */
export interface HealthHandlersOptions {
  readonly checks?: readonly ReadinessCheck[];
  readonly metrics?: Metrics;
  /**
   * Set on a port anyone may reach (the API's): a failed check's error (which may name hosts,
   * ports and database users) goes to this function, for the log, and not into the answer,
   * which keeps each check's name and outcome. Unset, the answer carries the errors.
   */
  readonly reportErrors?: (report: ReadinessReport) => void;
}

/** Builds the handlers for `/healthz`, `/readyz` and `/metrics`. */
export function createHealthHandlers(opts: HealthHandlersOptions): HealthHandlers {
  const checks = [...(opts.checks ?? [])];
  return {
    healthz: () => ({ status: 200, headers: JSON_HEADERS, body: JSON.stringify({ status: 'alive' }) }),
    readyz: async () => {
      const report = await runChecks(checks);
      const status = report.status === 'ready' ? 200 : 503;
      if (opts.reportErrors === undefined || status === 200) return { status, headers: JSON_HEADERS, body: JSON.stringify(report) };
      opts.reportErrors(report);
      const shown: ReadinessReport = { status: report.status, checks: report.checks.map(({ error: _error, ...rest }) => rest) };
      return { status, headers: JSON_HEADERS, body: JSON.stringify(shown) };
    },
    metrics: async () => {
      if (!opts.metrics) return { status: 404, headers: JSON_HEADERS, body: '{"error":"no metrics"}' };
      const body = await opts.metrics.render();
      return { status: 200, headers: { 'content-type': opts.metrics.contentType }, body };
    },
  };
}
