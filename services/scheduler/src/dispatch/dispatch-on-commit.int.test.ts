/**
 * Jobs dispatched by the commit that creates them (`Dispatcher.transaction`). The dispatch loop
 * runs no round of its own here (a long interval, a worker that beats once) but those a test
 * asks for, so whether a round is under way when a submit's pass runs is up to the test.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { Headers, type JobSpecInput } from '@gantry/contracts';
import { insertJobs, type PoolClient } from '@gantry/store';
import { createJobs, createToken, createWorkspace, jobSpec } from '@gantry/testkit';
import { acquireLease, type Lease } from '../leadership/lease.js';
import { useScheduler } from '../testing/use-scheduler.js';
import { FakeWorker, ownPool, publishCommand, waitFor } from '../testing/harness.js';

// Aging on, as in production: a job claimed by the transaction that created it must not lose a point to it.
const h = useScheduler({ dispatchIntervalMs: 600_000, workerLostMs: 60_000, agingSecondsPerPoint: 10 });
let workspaceId: string;
let token: string;

beforeAll(async () => {
  workspaceId = await createWorkspace(h.pool);
  token = await createToken(h.pool, workspaceId);
});

const spec = (pool: string, priority?: number): JobSpecInput => ({
  type: 'at-once',
  pool,
  ...(priority === undefined ? {} : { priority }),
  steps: [{ name: 'only', phase: 'EXECUTION', type: 'NOOP' }],
});

/** A worker of its own pool, heard by the leader, and no round under way or due. */
async function idleWorker(name: string, slots = 4): Promise<{ pool: string; worker: FakeWorker }> {
  const pool = await ownPool(h.ns, name);
  const worker = new FakeWorker(h.ns, h.pool, slots, { pool, beatEveryMs: 30_000 });
  worker.start();
  await waitFor(() => h.scheduler.workers.isLive(worker.workerId), 10_000, 'the worker heard');
  // Its beat woke a round; a direct round waits for it, and nothing wakes another.
  await h.scheduler.dispatcher.round(h.scheduler.leadership.lease!);
  return { pool, worker };
}

async function submit(pool: string, count: number, priority?: number): Promise<string[]> {
  const jobIds = Array.from({ length: count }, () => randomUUID());
  const command = { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobs: jobIds.map((jobId) => ({ jobId, job: spec(pool, priority) })) };
  await publishCommand(h.ns, 'submit', command, { [Headers.token]: token });
  return jobIds;
}

/**
 * The jobs: whether each is dispatched, and whether by the transaction that queued it (the
 * claim's `dispatched_at` is then that transaction's `now()`, the time of its `job.queued` event).
 */
async function dispatchOf(ids: readonly string[]): Promise<{ dispatched: boolean; atOnce: boolean }[]> {
  const { rows } = await h.pool.query<{ dispatched: boolean; at_once: boolean }>(
    `SELECT j.dispatched_at IS NOT NULL AS dispatched, j.dispatched_at = e.created_at AS at_once
     FROM runner_jobs j JOIN job_events e ON e.job_id = j.id AND e.type = 'job.queued'
     WHERE j.id = ANY($1::uuid[]) ORDER BY j.id`,
    [ids],
  );
  return rows.map((r) => ({ dispatched: r.dispatched, atOnce: r.at_once ?? false }));
}

describe('dispatch on commit', () => {
  it('dispatches a submit’s jobs by the commit that creates them, with no round of its own', async () => {
    const { pool, worker } = await idleWorker('at-once');
    // No round claims for the pool: the loop sleeps, and the pass's own claim runs on its transaction's connection.
    const queries = vi.spyOn(h.pool, 'query');
    try {
      const ids = await submit(pool, 3);
      await waitFor(() => worker.dispatches.length === 3, 10_000, 'three dispatches');
      expect(worker.dispatches.map((d) => d.jobId).sort()).toEqual([...ids].sort());
      expect(await dispatchOf(ids)).toEqual(ids.map(() => ({ dispatched: true, atOnce: true })));
      const roundClaims = queries.mock.calls.filter(([q]) => (q as unknown as { name?: string }).name === 'gantry_claim');
      expect(roundClaims).toHaveLength(0);
    } finally {
      queries.mockRestore();
      await worker.stop();
    }
  });

  it('sends the dispatches of its commit before the jobs’ events, which a worker does not wait for', async () => {
    const { pool, worker } = await idleWorker('dispatch-first');
    // One subscriber sees one publisher's messages in the order they were published.
    const seen: string[] = [];
    const sub = h.ns.nc.subscribe(`${h.ns.namespace}.>`, {
      callback: (_err, msg) => {
        if (msg.subject === h.ns.names.subjects.dispatch(pool)) seen.push('dispatch');
        else if (msg.subject.startsWith(`${h.ns.namespace}.events.`)) seen.push('events');
      },
    });
    try {
      await h.ns.nc.flush();
      await submit(pool, 2);
      await waitFor(() => seen.length === 4, 10_000, 'two dispatches and two event batches');
      expect(seen).toEqual(['dispatch', 'dispatch', 'events', 'events']);
      // The worker pulls them from the dispatch stream, after the subscriber saw them.
      await waitFor(() => worker.dispatches.length === 2, 10_000, 'the worker’s two dispatches');
    } finally {
      sub.unsubscribe();
      await worker.stop();
    }
  });

  it('waits for a round under way before it creates a submit’s jobs, and then dispatches them by its commit', async () => {
    const { pool, worker } = await idleWorker('behind-a-round');
    // A round whose claim for the pool is held until the test lets it go.
    const query = h.pool.query.bind(h.pool) as (...args: unknown[]) => Promise<unknown>;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let held = false;
    const spy = vi.spyOn(h.pool, 'query').mockImplementation(((...args: unknown[]) => {
      const config = args[0] as { name?: string; values?: unknown[] };
      if (held || config.name !== 'gantry_claim' || config.values?.[3] !== pool) return query(...args);
      held = true;
      return released.then(() => query(...args));
    }) as never);
    try {
      const round = h.scheduler.dispatcher.round(h.scheduler.leadership.lease!);
      await waitFor(() => held, 10_000, 'the round’s claim held');
      const ids = await submit(pool, 3);
      // The pass waits for the round's turn: nothing of it is written beside the round.
      await new Promise((r) => setTimeout(r, 300));
      expect(await dispatchOf(ids)).toEqual([]);
      release();
      expect(await round).toBe(0);
      await waitFor(() => worker.dispatches.length === 3, 10_000, 'three dispatches after the round');
      expect(await dispatchOf(ids)).toEqual(ids.map(() => ({ dispatched: true, atOnce: true })));
    } finally {
      release();
      spy.mockRestore();
      await worker.stop();
    }
  });

  it('holds no round back while a submit’s creation waits for a lock, and dispatches its jobs once it commits', async () => {
    const { pool, worker } = await idleWorker('behind-a-lock');
    const locked = await createWorkspace(h.pool);
    const lockedToken = await createToken(h.pool, locked);
    // Another transaction locks the workspace row, which the jobs' foreign key needs.
    const blocker = await h.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT id FROM workspaces WHERE id = $1 FOR UPDATE', [locked]);
      const jobId = randomUUID();
      const command = { v: 1, kind: 'submit', id: randomUUID(), workspaceId: locked, jobs: [{ jobId, job: spec(pool) }] };
      await publishCommand(h.ns, 'submit', command, { [Headers.token]: lockedToken });
      await new Promise((r) => setTimeout(r, 300));
      // The pass gave the rounds' turn up: a round runs now, and finds nothing to dispatch.
      let roundDone = false;
      const round = h.scheduler.dispatcher.round(h.scheduler.leadership.lease!).then((n) => {
        roundDone = true;
        return n;
      });
      await waitFor(() => roundDone, 2_000, 'a round while the creation waits for its lock');
      expect(await round).toBe(0);
      await blocker.query('COMMIT');
      await waitFor(() => worker.dispatches.length === 1, 10_000, 'the dispatch once the lock went');
      expect(worker.dispatches[0]!.jobId).toBe(jobId);
      expect(await dispatchOf([jobId])).toEqual([{ dispatched: true, atOnce: false }]);
    } finally {
      await blocker.query('ROLLBACK').catch(() => undefined);
      blocker.release();
      await worker.stop();
    }
  });

  it('ranks the jobs it creates by their priority against the backlog, aging included', async () => {
    const { pool, worker } = await idleWorker('ranked', 1);
    // An older job one point lower waits; the loop sleeps, so only the submit's claim can take it.
    const [older] = await createJobs(h.pool, workspaceId, 1, { spec: jobSpec({ pool, priority: 49 }) });
    await new Promise((r) => setTimeout(r, 50));
    const [urgent] = await submit(pool, 1, 50);
    await waitFor(() => worker.dispatches.length === 1, 10_000, 'the one slot taken');
    expect(worker.dispatches[0]!.jobId).toBe(urgent);
    expect(await dispatchOf([older!.id])).toEqual([{ dispatched: false, atOnce: false }]);
    await worker.stop();
  });

  it('creates a submit’s jobs all the same when the claims in its transaction fail, and a round dispatches them', async () => {
    const { pool, worker } = await idleWorker('claim-fails');
    // The next claim on a connection checked out by promise (a transaction's; a round's
    // `pool.query` checks out by callback) fails once.
    const connect = h.pool.connect.bind(h.pool) as (...args: unknown[]) => Promise<PoolClient>;
    let failed = false;
    const spy = vi.spyOn(h.pool, 'connect').mockImplementation((async (...args: unknown[]) => {
      if (args.length > 0) return connect(...args);
      const client = await connect();
      const query = client.query.bind(client) as (...args: unknown[]) => Promise<unknown>;
      client.query = ((...args: unknown[]) => {
        if (!failed && (args[0] as { name?: string }).name === 'gantry_claim') {
          failed = true;
          return Promise.reject(new Error('the claim failed'));
        }
        return query(...args);
      }) as never;
      return client;
    }) as never);
    try {
      const ids = await submit(pool, 2);
      await waitFor(() => worker.dispatches.length === 2, 10_000, 'two dispatches by a round');
      expect(failed).toBe(true);
      expect(await dispatchOf(ids)).toEqual(ids.map(() => ({ dispatched: true, atOnce: false })));
    } finally {
      spy.mockRestore();
      await worker.stop();
    }
  });

  it('queues the jobs the API stored and dispatches them by the same commit', async () => {
    const { pool, worker } = await idleWorker('stored');
    const pending = await createJobs(h.pool, workspaceId, 2, { spec: jobSpec({ pool }), status: 'PENDING' });
    const ids = pending.map((j) => j.id);
    // As the API announces a request's jobs: ids only, no token.
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId, jobs: ids.map((jobId) => ({ jobId })) });
    await waitFor(() => worker.dispatches.length === 2, 10_000, 'two dispatches');
    expect(await dispatchOf(ids)).toEqual(ids.map(() => ({ dispatched: true, atOnce: true })));
    await worker.stop();
  });

  it('claims nothing for a leader whose lease ran out after the transaction began', async () => {
    const { pool, worker } = await idleWorker('lease-expired');
    // A lease of its own (not the harness leader's), so that expiring it deposes nobody else.
    const term = await acquireLease(h.pool, 'lease-expired', 'deposed', 60_000);
    const lease: Lease = { name: 'lease-expired', holder: 'deposed', term: term! };
    const jobId = randomUUID();
    try {
      await h.scheduler.dispatcher.transaction(lease, async (tx) => {
        // The lease runs out while the transaction is under way (its renewals failed for leaseMs):
        // `now()`, the time of its BEGIN, is still within the lease.
        await h.pool.query(`UPDATE scheduler_leases SET expires_at = clock_timestamp() WHERE name = $1`, [lease.name]);
        await new Promise((r) => setTimeout(r, 20));
        const { created } = await insertJobs(tx.client, [{ id: jobId, workspaceId, spec: jobSpec({ pool }), status: 'QUEUED', actor: 'test' }]);
        tx.queued(() => undefined);
        return created;
      });
      await new Promise((r) => setTimeout(r, 300));
      expect(await dispatchOf([jobId])).toEqual([{ dispatched: false, atOnce: false }]);
      expect(worker.dispatches).toHaveLength(0);
    } finally {
      await worker.stop();
    }
  });
});
