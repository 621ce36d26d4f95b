/**
 * NATS killed (kill -9) mid-run and started again on the same storage, once with the server's
 * default JetStream sync (a publish is acknowledged before its fsync) and once with
 * `sync_interval: always`. Dispatches, acks and heartbeats in flight are lost; PostgreSQL holds
 * the truth, the reconciler re-dispatches what nobody claimed, duplicates are refused by the
 * claim. The figures (re-runs, recovery time) of the two runs are what `docs/guarantees.md`
 * compares. nats-server 2.9 refuses `sync_interval` (added in 2.10): there the second test is
 * skipped, saying so.
 */
import { expect, it } from 'vitest';
import { runningJobs } from '../check/run-report.js';
import { natsSupportsSyncAlways } from '@gantry/testkit';
import { noopJob, runScenario, untilEnded, untilRunning, type ScenarioResult } from '../scenario.js';

const JOBS = 200;
/** How long NATS stays down: shorter than WORKER_LOST_MS (3 s) so workers are not judged lost by it alone. */
const DOWN_MS = 1_000;

const syncAlwaysSupported = await natsSupportsSyncAlways();

async function natsRestart(name: string, syncAlways: boolean): Promise<ScenarioResult> {
  return runScenario(name, { workers: 2, concurrency: 16, nats: { syncAlways } }, async (c) => {
    const accepted = await c.submit(JOBS, noopJob(300));
    await untilEnded(c, accepted, JOBS / 4);
    await untilRunning(c, accepted, 4);
    const affected = await runningJobs(c.pool, accepted);
    const faultAt = Date.now();
    await c.nats.kill('SIGKILL');
    await new Promise((r) => setTimeout(r, DOWN_MS));
    await c.nats.restart();
    return { accepted, faults: 1, affected, faultAt, extra: { syncAlways, downMs: Date.now() - faultAt } };
  });
}

function expectClean({ check, strike }: ScenarioResult): void {
  expect(check.violations).toEqual([]);
  expect(check.statuses).toEqual({ COMPLETED: JOBS });
  expect(strike.affected.length).toBeGreaterThan(0);
}

it('NATS kill -9 and restart (default sync): every accepted job ends once', async () => {
  expectClean(await natsRestart('nats-restart-default-sync', false));
}, 300_000);

it.skipIf(!syncAlwaysSupported)('NATS kill -9 and restart (sync_interval: always): every accepted job ends once', async () => {
  expectClean(await natsRestart('nats-restart-sync-always', true));
}, 300_000);
