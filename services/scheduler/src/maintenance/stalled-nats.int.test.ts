/**
 * The lost-worker recovery trusted `WorkerRegistry.hearingSince()`, which only changed on the
 * client's `disconnect` / `reconnect` statuses. A NATS connection that goes silent without
 * closing (a server that hangs, a network path that drops packets instead of resetting) is not
 * noticed by the client until its pings go unanswered (20 s x 3 in `connectNats`), while the
 * leader judges workers lost after WORKER_LOST_MS (10 s). During that window no beat arrived,
 * yet the registry claimed it could hear: every RUNNING job of every worker was queued again as
 * `worker_lost`, though the workers ran fine and kept writing to PostgreSQL. A round trip before
 * each pass now tells the stall.
 *
 * Here the leader's own nats-server is stopped (SIGSTOP) and resumed; the worker keeps its job.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { names as namesOf } from '@gantry/contracts';
import { connectNats, createLogger, loadConfig, provision } from '@gantry/runtime';
import { createJobs, createWorkspace, jobSpec, randomNamespace, startPrivateNats, type PrivateNats, type TestNamespace, useTestDatabase } from '@gantry/testkit';
import { FakeWorker, type Harness, ownPool, startScheduler, waitFor } from '../testing/harness.js';

const db = useTestDatabase();
const logger = createLogger({ service: 'test', version: '0', level: 'silent' });

let nats: PrivateNats;
let schedulerNs: TestNamespace;
let workerNs: TestNamespace;
let h: Harness;

async function namespaceOn(url: string, namespace: string, name: string): Promise<TestNamespace & { nc: NatsConnection }> {
  const nc = await connectNats(loadConfig({}, { NATS_URL: url }), { name, logger });
  const jsm = await jetstreamManager(nc);
  return { namespace, names: namesOf(namespace), nc, jsm, cleanup: () => nc.close() };
}

beforeAll(async () => {
  nats = await startPrivateNats();
  const namespace = randomNamespace();
  schedulerNs = await namespaceOn(nats.url, namespace, 'scheduler');
  workerNs = await namespaceOn(nats.url, namespace, 'worker');
  await provision(schedulerNs.jsm, schedulerNs.names);
  h = await startScheduler(db.url, schedulerNs, { workerLostMs: 1_500 });
}, 30_000);

afterAll(async () => {
  if (nats?.running) void nats.kill('SIGCONT');
  await h?.stop();
  await workerNs?.cleanup();
  await schedulerNs?.cleanup();
  await nats?.cleanup();
}, 30_000);

describe('a leader whose NATS connection stalls without closing', () => {
  it('does not take a live worker’s running job away', async () => {
    const pool = await ownPool(schedulerNs, 'stall');
    const ws = await createWorkspace(h.pool);
    const [job] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ pool }) });
    const worker = new FakeWorker(workerNs, h.pool, 1, { pool });
    worker.start();
    try {
      await waitFor(async () => (await h.pool.query(`SELECT status FROM runner_jobs WHERE id = $1`, [job!.id])).rows[0].status === 'RUNNING', 10_000, 'the job running');
      // Past the new leader's WORKER_LOST_MS of grace.
      await new Promise((r) => setTimeout(r, 2_000));

      // The server hangs: no beat reaches anyone, but no connection closes either.
      void nats.kill('SIGSTOP');
      await new Promise((r) => setTimeout(r, 9_000));
      // The registry knows it cannot hear, though the client has not noticed the stall.
      const hearing = h.scheduler.workers.hearingSince();
      void nats.kill('SIGCONT');
      // Beats reach the leader again, before it judges anyone lost.
      await new Promise((r) => setTimeout(r, 3_000));

      const { rows } = await h.pool.query(`SELECT status, attempt, worker_id FROM runner_jobs WHERE id = $1`, [job!.id]);
      const lost = await h.pool.query(`SELECT count(*)::int AS n FROM job_events WHERE job_id = $1 AND type = 'job.queued' AND payload->>'reason' = 'worker_lost'`, [job!.id]);
      expect({ hearing: hearing !== undefined, status: rows[0].status, attempt: rows[0].attempt, workerLost: lost.rows[0].n })
        .toEqual({ hearing: false, status: 'RUNNING', attempt: 1, workerLost: 0 });
    } finally {
      await worker.stop();
    }
  }, 40_000);
});
