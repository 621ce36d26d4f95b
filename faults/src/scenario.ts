/**
 * The shape of every fault scenario: start a private cluster, let the scenario submit its jobs
 * and strike, wait (generously bounded) until every accepted job has ended, run the shared
 * checker, measure the recovery and print the figures. The cluster is torn down whatever
 * happened. Tests assert on the returned check, never on timings.
 */
import type { JobSpecInput } from '@gantry/contracts';
import type { ServiceProcess } from '@gantry/testkit';
import type { CheckResult } from './check/checker.js';
import { checkRun, dispatchGapMs, figuresOf, printFigures, recoveryMs, terminalCount, type FaultFigures } from './check/run-report.js';
import { startFaultCluster, type FaultCluster, type FaultClusterOptions } from './cluster/fault-cluster.js';
import { waitUntil } from './cluster/processes.js';

/** What a scenario's fault did. */
export interface Strike {
  /** Every job the API accepted (202 with its id). */
  readonly accepted: readonly string[];
  /** Faults injected. */
  readonly faults: number;
  /** Jobs the fault interrupted; the recovery time is measured until the last of them ended. */
  readonly affected: readonly string[];
  /** When the (first) fault struck, ms since the epoch. */
  readonly faultAt: number;
  /** Scenario-specific figures, printed with the others. */
  readonly extra?: Record<string, unknown>;
}

/** What a scenario run returns to its test. */
export interface ScenarioResult {
  readonly check: CheckResult;
  readonly figures: FaultFigures;
  readonly strike: Strike;
  /** What the scenario's `afterDrain` measured. */
  readonly after: Record<string, unknown>;
}

/** Bound on waiting for all jobs to end after a fault (a bound, not an expectation). */
export const DRAIN_TIMEOUT_MS = 150_000;

/**
 * Runs one scenario on a fresh private cluster: `strike` submits and injects the fault;
 * then every accepted job must end, and the histories are checked. `afterDrain` may read more
 * figures from the still-running cluster (service metrics) before it is torn down.
 */
export async function runScenario(
  name: string,
  cluster: FaultClusterOptions,
  strike: (c: FaultCluster, startedAt: number) => Promise<Strike>,
  afterDrain?: (c: FaultCluster, s: Strike) => Promise<Record<string, unknown>>,
): Promise<ScenarioResult> {
  const c = await startFaultCluster(cluster);
  try {
    const startedAt = Date.now();
    const s = await strike(c, startedAt);
    await c.waitForTerminal(s.accepted, DRAIN_TIMEOUT_MS).catch(async (err: Error) => {
      throw new Error(`${err.message}; still open: ${JSON.stringify(await openJobs(c, s.accepted))}\n${servicesReport(c)}`);
    });
    const totalMs = Date.now() - startedAt;
    const after = (await afterDrain?.(c, s)) ?? {};
    const check = await checkRun(c.pool, s.accepted);
    const figures = figuresOf(name, check, {
      faults: s.faults,
      affected: s.affected.length,
      recoveryMs: await recoveryMs(c.pool, s.affected, s.faultAt),
      dispatchGapMs: await dispatchGapMs(c.pool, s.accepted, s.faultAt),
      totalMs,
      ...s.extra,
      ...after,
    });
    printFigures(figures);
    return { check, figures, strike: s, after };
  } finally {
    await c.stop();
  }
}

/** The jobs of `ids` not yet ended, grouped by status, attempt, worker and whether dispatched. */
async function openJobs(c: FaultCluster, ids: readonly string[]): Promise<unknown[]> {
  const { rows } = await c.pool.query(
    `SELECT status, attempt, worker_id, dispatched_at IS NOT NULL AS dispatched, count(*)::int AS n FROM runner_jobs
     WHERE id = ANY($1::uuid[]) AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED') GROUP BY 1, 2, 3, 4`,
    [ids],
  );
  return rows;
}

/** Warnings and errors of a service kept in a report, its latest last. */
const REPORTED_LINES = 12;

/**
 * For a run that did not drain: whether each service process still runs (or how it exited) and
 * its latest warnings and errors, so that a failure seen once in CI says where it stopped.
 */
function servicesReport(c: FaultCluster): string {
  const services: [string, ServiceProcess][] = [
    ...c.schedulers.map((p, i): [string, ServiceProcess] => [`scheduler s${i}`, p]),
    ...c.workers.map((p, i): [string, ServiceProcess] => [`worker w${i}`, p]),
    ['api', c.api],
  ];
  return services.map(([name, p]) => {
    const { exitCode, signalCode } = p.child;
    const state = exitCode === null && signalCode === null ? 'running' : `exited (${signalCode ?? exitCode})`;
    const lines = p.logs
      .filter((l) => l.level === 'warn' || l.level === 'error' || l.level === 'fatal')
      .slice(-REPORTED_LINES)
      .map((l) => `    ${[l.time, l.level, l.component, l.msg, (l.err as { message?: unknown } | undefined)?.message].filter((v) => v !== undefined).join(' ').slice(0, 300)}`);
    return [`  ${name}: ${state}, ${lines.length === 0 ? 'no warnings or errors' : 'latest warnings and errors:'}`, ...lines].join('\n');
  }).join('\n');
}

/** A job of three NOOP steps whose EXECUTION step sleeps `sleepMs`; five attempts allowed. */
export function noopJob(sleepMs: number): JobSpecInput {
  return {
    type: 'faults',
    maxAttempts: 5,
    steps: [
      { name: 'setup', phase: 'SETUP', type: 'NOOP' },
      { name: 'execute', phase: 'EXECUTION', type: 'NOOP', spec: { sleepMs } },
      { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
    ],
  };
}

/** A job whose EXECUTION step is a real child process (`sleep`); five attempts allowed. */
export function commandJob(sleepSeconds: number): JobSpecInput {
  return {
    type: 'faults',
    maxAttempts: 5,
    steps: [
      { name: 'setup', phase: 'SETUP', type: 'NOOP' },
      { name: 'execute', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['sleep', String(sleepSeconds)] } },
      { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
    ],
  };
}

/** Resolves once at least `count` of `ids` have ended (bounded by {@link DRAIN_TIMEOUT_MS}). */
export async function untilEnded(c: FaultCluster, ids: readonly string[], count: number): Promise<void> {
  await waitUntil(async () => (await terminalCount(c.pool, ids)) >= count, `${count} jobs did not end`, DRAIN_TIMEOUT_MS);
}

/** Which running jobs {@link untilRunning} counts. */
export interface RunningOptions {
  /** Only jobs held by this worker. */
  readonly workerId?: string;
  /**
   * Only jobs that started at most this long ago, so that a strike lands well inside their
   * steps: a job near the end of its step may already have sent its terminal write, which
   * commits whatever happens to the worker next.
   */
  readonly startedWithinMs?: number;
}

/**
 * Resolves once at least `count` of `ids` are RUNNING (as `opts` narrows them): a strike that
 * should hit work mid-step waits for it, since the moment a batch of jobs ends can find none
 * running.
 */
export async function untilRunning(c: FaultCluster, ids: readonly string[], count: number, opts: RunningOptions = {}): Promise<void> {
  await untilTrue(
    c,
    `SELECT count(*) >= $2 AS ok FROM runner_jobs WHERE id = ANY($1::uuid[]) AND status = 'RUNNING'
       AND ($3::text IS NULL OR worker_id = $3)
       AND ($4::int IS NULL OR started_at > now() - make_interval(secs => $4 / 1000.0))`,
    [ids, count, opts.workerId ?? null, opts.startedWithinMs ?? null],
    `${count} jobs were not running${opts.workerId ? ` on ${opts.workerId}` : ''}${opts.startedWithinMs ? ` (started within ${opts.startedWithinMs} ms)` : ''}`,
  );
}

/** Resolves once a query over the cluster's database returns a row whose `ok` is true (on timeout, `ids`' open jobs are named). */
export async function untilTrue(c: FaultCluster, sql: string, params: unknown[], what: string, ids?: readonly string[]): Promise<void> {
  await waitUntil(async () => (await c.pool.query<{ ok: boolean }>(sql, params)).rows[0]?.ok === true, what, DRAIN_TIMEOUT_MS).catch(
    async (err: Error) => {
      throw ids ? new Error(`${err.message}; still open: ${JSON.stringify(await openJobs(c, ids))}`) : err;
    },
  );
}
