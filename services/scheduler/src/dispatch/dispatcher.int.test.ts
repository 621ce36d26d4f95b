import { describe, expect, it, vi } from 'vitest';
import { createJobs, createWorkspace, jobSpec } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { FakeWorker, ownPool, waitFor } from '../testing/harness.js';

const h = useScheduler();

/** Express dispatches refused or unanswered so far (the dispatches counter). */
async function expressDispatches(outcome: 'express' | 'express_refused'): Promise<number> {
  const counter = await h.metrics.registry.getSingleMetric('gantry_dispatches_total')!.get();
  return counter.values.filter((v) => v.labels.outcome === outcome).reduce((n, v) => n + v.value, 0);
}

const refusedExpress = () => expressDispatches('express_refused');

/** True once job `id` is RUNNING (its worker's claim committed). */
const isRunning = async (id: string) => (await h.pool.query(`SELECT 1 FROM runner_jobs WHERE id = $1 AND status = 'RUNNING'`, [id])).rowCount === 1;

/** Ends job `id` in PostgreSQL alone: its worker's next beat, which would say so, has not come. */
const endUnbeaten = (id: string) => h.pool.query(`UPDATE runner_jobs SET status = 'COMPLETED', worker_id = NULL, completed_at = now() WHERE id = $1`, [id]);

/** True while job `id` has not been dispatched. */
const undispatched = async (id: string) => (await h.pool.query('SELECT dispatched_at FROM runner_jobs WHERE id = $1', [id])).rows[0].dispatched_at === null;

describe('the dispatcher', () => {
  it('dispatches only as many jobs as workers have free slots, and serves higher priority first as slots free', async () => {
    const ws = await createWorkspace(h.pool);
    const low = await createJobs(h.pool, ws, 20, { spec: jobSpec({ priority: 10 }) });
    const worker = new FakeWorker(h.ns, h.pool, 2);
    worker.start();
    try {
      const running = async () =>
        (await h.pool.query(`SELECT count(*)::int AS n FROM runner_jobs WHERE status = 'RUNNING'`)).rows[0].n as number;
      await waitFor(async () => (await running()) === 2, 10_000, 'two claimed jobs');
      // Every slot is taken: a round finds no credit and dispatches nothing.
      const lease = h.scheduler.leadership.lease!;
      expect(await h.scheduler.dispatcher.round(lease)).toBe(0);
      expect(worker.dispatches).toHaveLength(2);

      const high = await createJobs(h.pool, ws, 3, { spec: jobSpec({ priority: 90 }) });
      h.scheduler.dispatcher.wake();
      for (let i = 0; i < 5; i++) {
        const held = worker.dispatches[i]!.jobId;
        await worker.finish(held);
        await waitFor(() => worker.dispatches.length === 3 + i, 10_000, `dispatch ${3 + i}`);
      }
      const order = worker.dispatches.map((d) => d.jobId);
      expect(order.slice(0, 2)).toEqual(low.slice(0, 2).map((j) => j.id));
      expect(order.slice(2, 5)).toEqual(high.map((j) => j.id));
      expect(order.slice(5, 7)).toEqual(low.slice(2, 4).map((j) => j.id));
    } finally {
      await worker.stop();
    }
  });

  it('makes no ordinary claim while every worker beats with its slots full, and claims again once one frees', async () => {
    await ownPool(h.ns, 'full');
    const ws = await createWorkspace(h.pool);
    const low = await createJobs(h.pool, ws, 3, { spec: jobSpec({ priority: 10, pool: 'full' }) });
    const worker = new FakeWorker(h.ns, h.pool, 1, { pool: 'full' });
    worker.start();
    const queries = vi.spyOn(h.pool, 'query');
    try {
      await waitFor(() => worker.dispatches.length === 1, 10_000, 'the slot taken');
      await waitFor(() => h.scheduler.workers.live().some((w) => w.workerId === worker.workerId && w.busy === 1), 10_000, 'a beat with the slot busy');
      queries.mockClear();
      expect(await h.scheduler.dispatcher.round(h.scheduler.leadership.lease!)).toBe(0);
      // The claim statement of this pool (its fourth parameter).
      const claims = () => queries.mock.calls.filter(([q]) => {
        const config = q as unknown as { name?: string; values?: unknown[] };
        return config.name === 'gantry_claim' && config.values?.[3] === 'full';
      });
      expect(claims()).toHaveLength(0);
      await worker.finish(low[0]!.id);
      await waitFor(() => worker.dispatches.length === 2, 10_000, 'the next dispatch');
      expect(worker.dispatches[1]!.jobId).toBe(low[1]!.id);
      expect(claims().length).toBeGreaterThan(0);
    } finally {
      queries.mockRestore();
      await worker.stop();
    }
  });

  it('counts no credit on a worker lost while a round is under way', async () => {
    const pool = await ownPool(h.ns, 'lost');
    const ws = await createWorkspace(h.pool);
    // It beats once, as it starts with both slots free; the database alone then shows them taken.
    const worker = new FakeWorker(h.ns, h.pool, 2, { pool, beatEveryMs: 600_000 });
    // Once armed, the next claim for the pool is held until the worker is lost and the leader's
    // recovery (every 100 ms) has come due, while the round still takes the worker for live.
    const query = h.pool.query.bind(h.pool) as (...args: unknown[]) => Promise<unknown>;
    let armed = false;
    let heldClaim: Promise<unknown> | undefined;
    const spy = vi.spyOn(h.pool, 'query').mockImplementation(((...args: unknown[]) => {
      const config = args[0] as { name?: string; values?: unknown[] };
      if (!armed || heldClaim || config.name !== 'gantry_claim' || config.values?.[3] !== pool) return query(...args);
      heldClaim = (async () => {
        await waitFor(() => !h.scheduler.workers.isLive(worker.workerId), 10_000, 'the worker lost');
        await new Promise((r) => setTimeout(r, 800));
        return query(...args);
      })();
      return heldClaim;
    }) as never);
    try {
      worker.start();
      const taken = await createJobs(h.pool, ws, 2, { spec: jobSpec({ pool }) });
      await waitFor(() => worker.dispatches.length === 2, 10_000, 'both slots taken');
      await createJobs(h.pool, ws, 3, { spec: jobSpec({ pool }) });
      armed = true;
      await worker.stop();
      await waitFor(() => heldClaim !== undefined, 10_000, 'a claim for the pool');
      await heldClaim;
      const requeued = async () =>
        (await h.pool.query(`SELECT count(*)::int AS n FROM runner_jobs WHERE id = ANY($1) AND status = 'QUEUED' AND attempt = 2`, [taken.map((j) => j.id)])).rows[0].n as number;
      await waitFor(async () => (await requeued()) === 2, 10_000, 'the lost worker’s jobs queued again');
      // One more round, now that the worker is gone.
      await h.scheduler.dispatcher.round(h.scheduler.leadership.lease!);
      const { rows } = await h.pool.query(`SELECT count(*)::int AS n FROM runner_jobs WHERE pool = $1 AND dispatched_at IS NOT NULL`, [pool]);
      expect(rows[0].n).toBe(0);
    } finally {
      spy.mockRestore();
      await worker.stop();
    }
  });

  it('starts urgent jobs in express slots while every ordinary slot is busy, and nothing else there', async () => {
    const pool = await ownPool(h.ns, 'express');
    const ws = await createWorkspace(h.pool);
    const low = await createJobs(h.pool, ws, 3, { spec: jobSpec({ priority: 10, pool }) });
    const worker = new FakeWorker(h.ns, h.pool, 1, { pool, express: 2 });
    worker.start();
    try {
      await waitFor(() => worker.dispatches.length === 1, 10_000, 'the ordinary slot taken');
      // Below the express priority (80 in the harness), a job waits for an ordinary slot.
      const normal = await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 79, pool }) });
      const urgent = await createJobs(h.pool, ws, 3, { spec: jobSpec({ priority: 90, pool }) });
      h.scheduler.dispatcher.wake();
      await waitFor(() => worker.expressDispatches.length === 2, 10_000, 'two express dispatches');
      expect(worker.expressDispatches.map((d) => d.jobId)).toEqual(urgent.slice(0, 2).map((j) => j.id));
      // The express slots are full too: nothing more starts, and nothing was refused.
      expect(await h.scheduler.dispatcher.round(h.scheduler.leadership.lease!)).toBe(0);
      expect(worker.refused).toEqual([]);
      expect(worker.dispatches.map((d) => d.jobId)).toEqual([low[0]!.id]);

      // An express slot frees: the third urgent job takes it, not the priority-79 job.
      await worker.finish(urgent[0]!.id);
      await waitFor(() => worker.expressDispatches.length === 3, 10_000, 'the third express dispatch');
      expect(worker.expressDispatches[2]!.jobId).toBe(urgent[2]!.id);
      // The ordinary slot frees: the highest job left, then the low ones, in the ordinary lane.
      await worker.finish(low[0]!.id);
      await waitFor(() => worker.dispatches.length === 2, 10_000, 'the next ordinary dispatch');
      expect(worker.dispatches[1]!.jobId).toBe(normal[0]!.id);
      expect(worker.expressDispatches).toHaveLength(3);
    } finally {
      await worker.stop();
    }
  });

  it('gives no ordinary slot for an express job that ended before its worker’s next beat', async () => {
    const pool = await ownPool(h.ns, 'stale-beat');
    const ws = await createWorkspace(h.pool);
    // It beats when it starts, then only when the test says: every round below reads that first beat (nothing busy).
    const worker = new FakeWorker(h.ns, h.pool, 1, { pool, express: 2, beatEveryMs: 600_000 });
    worker.start();
    try {
      await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 10, pool }) });
      await waitFor(() => worker.dispatches.length === 1, 10_000, 'the ordinary slot taken');
      await waitFor(() => isRunning(worker.dispatches[0]!.jobId), 5_000, 'its claim');
      const accepted = await expressDispatches('express');
      const urgent = await createJobs(h.pool, ws, 2, { spec: jobSpec({ priority: 90, pool }) });
      h.scheduler.dispatcher.wake();
      await waitFor(async () => (await expressDispatches('express')) === accepted + 2, 10_000, 'both express dispatches accepted');
      // One of them ends; its worker's beat saying so has not come yet.
      await endUnbeaten(urgent[0]!.id);
      const [third] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 90, pool }) });
      // The ordinary slot is still busy, and the express slots are as the leader last knew them
      // (both taken): nothing may start. Counted as an express job, the ended one would have made
      // the ordinary slot look free, and the third job would wait in the dispatch stream.
      expect(await h.scheduler.dispatcher.round(h.scheduler.leadership.lease!)).toBe(0);
      expect(await undispatched(third!.id)).toBe(true);
    } finally {
      await worker.stop();
    }
  });

  it('gives no ordinary slot for an express job its last beat listed that ended since', async () => {
    const pool = await ownPool(h.ns, 'listed-ended');
    const ws = await createWorkspace(h.pool);
    const worker = new FakeWorker(h.ns, h.pool, 1, { pool, express: 2, beatEveryMs: 600_000 });
    worker.start();
    const published = async () => {
      const counter = await h.metrics.registry.getSingleMetric('gantry_dispatches_total')!.get();
      return counter.values.filter((v) => v.labels.pool === pool && v.labels.outcome === 'published').reduce((n, v) => n + v.value, 0);
    };
    try {
      // The ordinary slot taken, then an urgent job in an express slot.
      const [first] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 10, pool }) });
      await waitFor(() => worker.dispatches.length === 1, 10_000, 'the ordinary slot taken');
      await waitFor(() => isRunning(first!.id), 5_000, 'its claim');
      worker.beat();
      const [express] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 90, pool }) });
      h.scheduler.dispatcher.wake();
      await waitFor(() => worker.expressDispatches.length === 1, 10_000, 'the express dispatch');
      // The ordinary job ends (its worker beats: busy 0, the express job listed), the next takes the slot.
      await worker.finish(first!.id);
      const [second] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 10, pool }) });
      h.scheduler.dispatcher.wake();
      await waitFor(() => isRunning(second!.id), 10_000, 'the second ordinary job running');
      // The express job ends; no beat says so, nor that the ordinary slot is busy again.
      await endUnbeaten(express!.id);
      const before = await published();
      const [third] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 10, pool }) });
      await h.scheduler.dispatcher.round(h.scheduler.leadership.lease!);
      // Its last beat listed the express job: ended, it frees no ordinary slot.
      expect(await published()).toBe(before);
      expect(await undispatched(third!.id)).toBe(true);
    } finally {
      await worker.stop();
    }
  });

  it('counts an accepted express job once when the worker’s beat lists it before its answer arrives', async () => {
    const pool = await ownPool(h.ns, 'beat-first');
    const ws = await createWorkspace(h.pool);
    // It beats when it starts, when the test says, and as it takes an express slot.
    const worker = new FakeWorker(h.ns, h.pool, 1, { pool, express: 2, beatEveryMs: 600_000, beatBeforeAnswer: true });
    worker.start();
    try {
      await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 10, pool }) });
      await waitFor(() => worker.dispatches.length === 1, 10_000, 'the ordinary slot taken');
      const [first, second] = await createJobs(h.pool, ws, 2, { spec: jobSpec({ priority: 90, pool }) });
      await h.pool.query(`UPDATE runner_jobs SET run_at = now() + interval '1 hour' WHERE id = $1`, [second!.id]);
      const accepted = await expressDispatches('express');
      worker.beat();
      await h.ns.nc.flush();
      h.scheduler.dispatcher.wake();
      await waitFor(async () => (await expressDispatches('express')) > accepted, 10_000, 'the first express dispatch accepted');
      expect(worker.expressDispatches.map((d) => d.jobId)).toEqual([first!.id]);
      // One of two express slots is taken, as the beat before the answer says: the second urgent
      // job takes the other, in the next round (this one, or the loop's if it came first).
      // Counted twice, the worker would have no express room until a beat it never sends.
      await h.pool.query(`UPDATE runner_jobs SET run_at = NULL WHERE id = $1`, [second!.id]);
      await h.scheduler.dispatcher.round(h.scheduler.leadership.lease!);
      await waitFor(() => worker.expressDispatches.length === 2, 5_000, 'the second express dispatch');
      expect(worker.refused).toEqual([]);
    } finally {
      await worker.stop();
    }
  });

  it('returns an express dispatch nobody answers to the backlog', async () => {
    const pool = await ownPool(h.ns, 'unanswered');
    const ws = await createWorkspace(h.pool);
    const worker = new FakeWorker(h.ns, h.pool, 1, { pool, express: 1, refuseExpress: 'unsubscribed' });
    worker.start();
    try {
      await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 10, pool }) });
      await waitFor(() => worker.dispatches.length === 1, 10_000, 'the ordinary slot taken');
      const [urgent] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 90, pool }) });
      // A round claims it for the express slot the beat offers; the request finds no one.
      const before = await refusedExpress();
      h.scheduler.dispatcher.wake();
      await waitFor(async () => (await refusedExpress()) > before, 10_000, 'an unanswered express dispatch');
      await waitFor(async () => {
        const { rows } = await h.pool.query(`SELECT status, dispatched_at FROM runner_jobs WHERE id = $1`, [urgent!.id]);
        return rows[0].status === 'QUEUED' && rows[0].dispatched_at === null;
      }, 10_000, 'the unanswered job back in the backlog');
    } finally {
      await worker.stop();
    }
  });

  it('returns an express dispatch the worker refuses to the backlog', async () => {
    const pool = await ownPool(h.ns, 'refusing');
    const ws = await createWorkspace(h.pool);
    // It beats only when the test says (and when it starts), so the leader's view changes only then.
    const worker = new FakeWorker(h.ns, h.pool, 1, { pool, express: 1, refuseExpress: true, beatEveryMs: 600_000 });
    worker.start();
    try {
      await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 10, pool }) });
      await waitFor(() => worker.dispatches.length === 1, 10_000, 'the ordinary slot taken');
      const [urgent] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ priority: 90, pool }) });
      // A fresh beat: live for the next 1.5 s (the harness's WORKER_LOST_MS), which the rest takes well within.
      worker.beat();
      await h.ns.nc.flush();
      h.scheduler.dispatcher.wake();
      await waitFor(() => worker.refused.length >= 1, 10_000, 'a refused express dispatch');
      await waitFor(async () => {
        const { rows } = await h.pool.query(`SELECT status, dispatched_at FROM runner_jobs WHERE id = $1`, [urgent!.id]);
        return rows[0].status === 'QUEUED' && rows[0].dispatched_at === null;
      }, 10_000, 'the refused job back in the backlog');
      // A worker that refused is not asked again before its next beat: rounds claim nothing for it.
      const asked = worker.refused.length;
      for (let i = 0; i < 3; i++) expect(await h.scheduler.dispatcher.round(h.scheduler.leadership.lease!)).toBe(0);
      await h.ns.nc.flush();
      expect(worker.refused).toHaveLength(asked);
      expect(h.scheduler.workers.isLive(worker.workerId)).toBe(true);
    } finally {
      await worker.stop();
    }
  });
});
