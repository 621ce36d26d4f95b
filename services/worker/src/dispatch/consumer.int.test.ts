import { jetstream } from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import { describe, expect, it, vi } from 'vitest';
import { dispatchConsumer, Heartbeat } from '@gantry/contracts';
import { connectNats, createLogger, loadConfig } from '@gantry/runtime';
import { blockingStep } from '../testing/blocking-step.js';
import { useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();
const block = blockingStep();

async function consumerState(): Promise<{ pending: number; ackPending: number; redelivered: number }> {
  const c = dispatchConsumer(h.ns.names, 'default');
  const info = await h.ns.jsm.consumers.info(c.stream, c.durableName);
  return { pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered };
}

/** The beats of `workerId` as they arrive; `next(match)` resolves with the first (past or coming) that matches. */
function heartbeats(workerId: string) {
  const beats: Heartbeat[] = [];
  const waiting = new Set<{ match: (b: Heartbeat) => boolean; resolve: (b: Heartbeat) => void }>();
  const sub = h.ns.nc.subscribe(h.ns.names.subjects.heartbeat(workerId), { callback: (_e, m) => {
    const beat = Heartbeat.parse(m.json());
    beats.push(beat);
    for (const w of [...waiting]) {
      if (!w.match(beat)) continue;
      waiting.delete(w);
      w.resolve(beat);
    }
  } });
  const next = (match: (b: Heartbeat) => boolean): Promise<Heartbeat> => {
    const seen = beats.find(match);
    return seen ? Promise.resolve(seen) : new Promise((resolve) => waiting.add({ match, resolve }));
  };
  return { beats, next, stop: () => sub.unsubscribe() };
}

/** The batch sizes of the dispatch consumer's pull requests, as the server receives them. */
function pullRequests() {
  const c = dispatchConsumer(h.ns.names, 'default');
  const batches: number[] = [];
  const sub = h.ns.nc.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${c.stream}.${c.durableName}`, {
    callback: (_e, m) => {
      batches.push(m.json<{ batch: number }>().batch);
    },
  });
  return { batches, stop: () => sub.unsubscribe() };
}

describe('the dispatch consumer', () => {
  it('asks once for slots that free one after another while an earlier pull still waits', async () => {
    const pulls = pullRequests();
    const { worker } = await h.startWorker({ stepTypes: [block.handler], settings: { concurrency: 4, pullGatherMs: 1_000, workerId: 'gather-worker' } });
    const jobs = await Promise.all(['g1', 'g2', 'g3'].map((key) => h.createJob({ steps: [{ name: key, phase: 'EXECUTION', type: 'BLOCK', spec: { key } }] })));
    for (const job of jobs) await h.dispatch(job.id, 1);
    for (const key of ['g1', 'g2', 'g3']) await block.started(key);
    // One pull for the four free slots at the start; three of them filled, one still waits.
    await h.ns.nc.flush();
    expect(pulls.batches).toEqual([4]);
    // The three slots free one after another, each after its job's last write: one pull for three.
    for (const [i, key] of ['g1', 'g2', 'g3'].entries()) {
      const ended = worker.signals.next('attemptEnded', (e) => e.jobId === jobs[i]!.id);
      block.release(key);
      expect((await ended).outcome).toBe('COMPLETED');
    }
    await vi.waitFor(() => expect(pulls.batches).toEqual([4, 3]), { timeout: 5_000 });
    await worker.stop();
    pulls.stop();
  });

  it('pulls at once for a freed slot when no earlier pull waits, whatever the gathering window', async () => {
    // With every pull filled, nothing would take a dispatch: a window of a minute must not apply.
    const { worker } = await h.startWorker({ settings: { concurrency: 1, pullGatherMs: 60_000 } });
    const first = await h.createJob();
    const second = await h.createJob();
    expect(await h.run(worker, first.id)).toBe('COMPLETED');
    expect(await h.run(worker, second.id)).toBe('COMPLETED');
    await worker.stop();
  });

  it('pulls no more dispatches than free slots and heartbeats what it holds', async () => {
    const { worker } = await h.startWorker({ stepTypes: [block.handler], settings: { concurrency: 1, workerId: 'slots-worker' } });
    const hb = heartbeats(worker.id);
    const a = await h.createJob({ steps: [{ name: 'a', phase: 'EXECUTION', type: 'BLOCK', spec: { key: 'a' } }] });
    const b = await h.createJob({ steps: [{ name: 'b', phase: 'EXECUTION', type: 'BLOCK', spec: { key: 'b' } }] });
    const aEnded = worker.signals.next('attemptEnded', (e) => e.jobId === a.id);
    const bEnded = worker.signals.next('attemptEnded', (e) => e.jobId === b.id);
    await h.dispatch(a.id, 1);
    await h.dispatch(b.id, 1);
    await block.started('a');
    expect(await consumerState()).toMatchObject({ pending: 1, ackPending: 1 });
    await h.ns.nc.flush();
    expect((await h.job(b.id)).status).toBe('QUEUED');
    // A held job is in a beat soon after it started (at most one extra beat per 50 ms): wait for
    // it before releasing the job, however slowly this machine runs the steps above.
    const holding = await hb.next((x) => x.jobs.some((j) => j.jobId === a.id));
    expect(holding).toMatchObject({ workerId: 'slots-worker', pool: 'default', slots: 1, busy: 1, draining: false, jobs: [{ jobId: a.id, attempt: 1 }] });
    block.release('a');
    expect((await aEnded).outcome).toBe('COMPLETED');
    await block.started('b');
    block.release('b');
    expect((await bEnded).outcome).toBe('COMPLETED');
    await worker.stop();
    // The last beat travels on the worker's connection; the test's round trip orders after it.
    await h.ns.nc.flush();
    hb.stop();
    expect(hb.beats.at(-1)).toMatchObject({ draining: true, busy: 0, jobs: [] });
  });

  it('keeps a long attempt from being redelivered with in-progress acks', async () => {
    const c = dispatchConsumer(h.ns.names, 'default');
    await h.ns.jsm.consumers.update(c.stream, c.durableName, { ack_wait: nanos(3_000), backoff: [nanos(3_000), nanos(3_000), nanos(3_000)] });
    const { worker } = await h.startWorker();
    const drops: unknown[] = [];
    worker.signals.on('dispatchDropped', (d) => drops.push(d));
    const job = await h.createJob({ steps: [{ name: 'slow', phase: 'EXECUTION', type: 'NOOP', spec: { sleepMs: 7_000 } }] });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    expect(drops).toEqual([]);
    expect(await h.settledDispatch()).toEqual({ pending: 0, ackPending: 0, redelivered: 0 });
    await h.ns.jsm.consumers.update(c.stream, c.durableName, { ack_wait: nanos(c.ackWaitMs), backoff: c.backoffMs.map((ms) => nanos(ms)) });
  });

  it('runs a dispatch that a worker pulled and died with, unclaimed, once the ack wait brings it back', async () => {
    const c = dispatchConsumer(h.ns.names, 'default');
    const job = await h.createJob({ steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] });
    await h.dispatch(job.id, 1);
    // A worker that pulls the dispatch and dies before its claim: its own connection, closed
    // with the message unacknowledged. No attempt was claimed: the job is still QUEUED.
    const doomed = await connectNats(loadConfig(), { name: 'doomed-worker', logger: createLogger({ service: 'worker-test', version: '0.0.0', level: 'silent' }) });
    const pulled = await (await jetstream(doomed).consumers.get(c.stream, c.durableName)).next({ expires: 5_000 });
    expect(pulled?.json()).toMatchObject({ jobId: job.id, attempt: 1 });
    await doomed.close();
    expect((await h.job(job.id)).status).toBe('QUEUED');

    const { worker } = await h.startWorker();
    const ended = await worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
    expect(ended).toMatchObject({ attempt: 1, outcome: 'COMPLETED' });
    expect(await h.settledDispatch()).toEqual({ pending: 0, ackPending: 0, redelivered: 0 });
  });

  it('terminates an invalid dispatch without touching anything', async () => {
    const { worker } = await h.startWorker();
    const dropped = worker.signals.next('dispatchDropped', (d) => d.reason === 'invalid');
    await h.ns.nc.request(h.ns.names.subjects.dispatch('default'), JSON.stringify({ v: 1, jobId: 'not-a-uuid' }));
    await dropped;
    expect(await h.settledDispatch()).toMatchObject({ pending: 0, ackPending: 0 });
  });
});
