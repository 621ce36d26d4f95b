/**
 * kill -9 of the scheduler leader with a hot standby running: the standby takes the lease
 * (a new term) and carries on — consuming, dispatching and repairing — so every accepted job
 * still ends exactly once. The leader is killed with most of the backlog not yet dispatched
 * (the dispatcher hands out only free slots), so finishing the run needs the standby.
 */
import { expect, it } from 'vitest';
import type { ServiceProcess } from '@gantry/testkit';
import { terminalCount } from '../check/run-report.js';
import { killHard } from '../cluster/processes.js';
import { noopJob, runScenario, untilEnded, untilTrue } from '../scenario.js';

const JOBS = 300;
const SLOTS = 2 * 16;

const LEASE_SQL = `SELECT holder, term::int AS term FROM scheduler_leases WHERE expires_at > now() ORDER BY term DESC LIMIT 1`;

function holderPid(holder: string): number {
  return Number(holder.split('-').at(-2));
}

it('kill -9 of the scheduler leader: the standby takes over, no job lost or doubled', async () => {
  let failoverMs = 0;
  const { check, strike } = await runScenario('scheduler-kill', { workers: 2, concurrency: 16, schedulers: 2 }, async (c) => {
    const accepted = await c.submit(JOBS, noopJob(200));
    await untilEnded(c, accepted, JOBS / 6);
    const lease = (await c.pool.query<{ holder: string; term: number }>(LEASE_SQL)).rows[0]!;
    const leader = c.schedulers.find((s) => s.child.pid === holderPid(lease.holder));
    const standby = c.schedulers.find((s) => s !== leader) as ServiceProcess;
    expect(leader, `lease holder ${lease.holder} is one of the scheduler processes`).toBeDefined();
    const faultAt = Date.now();
    await killHard(leader!);
    const ended = await terminalCount(c.pool, accepted);
    await untilTrue(c, `SELECT (holder LIKE '%-' || $1 || '-%' AND term > $2) AS ok FROM (${LEASE_SQL}) l`, [String(standby.child.pid), lease.term], 'the standby did not take the lease');
    failoverMs = Date.now() - faultAt;
    const open = await c.pool.query<{ id: string }>(
      `SELECT id FROM runner_jobs WHERE id = ANY($1::uuid[]) AND status NOT IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
      [accepted],
    );
    return { accepted, faults: 1, affected: open.rows.map((r) => r.id), faultAt, extra: { endedAtKill: ended, failoverMs } };
  });
  expect(check.violations).toEqual([]);
  expect(check.statuses).toEqual({ COMPLETED: JOBS });
  // More jobs were still open than the workers' slots: the standby had to dispatch.
  expect(strike.affected.length).toBeGreaterThan(SLOTS);
}, 300_000);
