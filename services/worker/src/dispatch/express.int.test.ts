import { describe, expect, it } from 'vitest';
import { type Dispatch, ExpressAnswer, Heartbeat } from '@gantry/contracts';
import { blockingStep } from '../testing/blocking-step.js';
import { useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();
const block = blockingStep();

const blocking = (key: string) => h.createJob({ steps: [{ name: key, phase: 'EXECUTION', type: 'BLOCK', spec: { key } }] });

/** Sends attempt 1 of `jobId` to `workerId`'s express subject and returns the answer. */
async function express(workerId: string, jobId: string): Promise<ExpressAnswer> {
  const body: Dispatch = { v: 1, jobId, workspaceId: h.workspaceId, attempt: 1, term: 1, dispatchedAt: new Date().toISOString() };
  const reply = await h.ns.nc.request(h.ns.names.subjects.express(workerId), JSON.stringify(body), { timeout: 5_000 });
  return ExpressAnswer.parse(reply.json());
}

/** Resolves with the first beat of `workerId` from now on that `match` accepts. */
function nextBeat(workerId: string, match: (b: Heartbeat) => boolean): Promise<Heartbeat> {
  return new Promise((resolve) => {
    const sub = h.ns.nc.subscribe(h.ns.names.subjects.heartbeat(workerId), {
      callback: (_err, msg) => {
        const beat = Heartbeat.parse(msg.json());
        if (!match(beat)) return;
        sub.unsubscribe();
        resolve(beat);
      },
    });
  });
}

describe('the express lane', () => {
  it('runs an express dispatch beside busy ordinary slots, refuses one beyond its express slots, and keeps ordinary dispatches out', async () => {
    const { worker, metrics } = await h.startWorker({ stepTypes: [block.handler], settings: { concurrency: 1, expressSlots: 1, workerId: 'express-worker' } });
    const gauge = async (name: string) => (await metrics.registry.getSingleMetric(name)!.get()).values[0]?.value;
    const ordinary = await blocking('ordinary');
    await h.dispatch(ordinary.id, 1);
    await block.started('ordinary');

    // The only ordinary slot is busy: an express dispatch still starts, in the express slot.
    const urgent = await blocking('urgent');
    const holding = nextBeat(worker.id, (b) => b.express?.busy === 1);
    expect(await express(worker.id, urgent.id)).toEqual({ v: 1, accepted: true });
    await block.started('urgent');
    expect((await h.job(urgent.id)).status).toBe('RUNNING');
    expect(await holding).toMatchObject({ slots: 1, busy: 1, express: { slots: 1, busy: 1 } });
    expect([await gauge('gantry_slots_busy'), await gauge('gantry_express_slots_total'), await gauge('gantry_express_slots_busy')]).toEqual([1, 1, 1]);

    // Both lanes full: the next express dispatch is refused and its job left alone.
    const refused = await h.createJob();
    expect(await express(worker.id, refused.id)).toEqual({ v: 1, accepted: false, reason: 'full' });
    expect((await h.job(urgent.id)).worker_id).toBe(worker.id);

    // An ordinary dispatch waits for the ordinary slot even when the express slot frees.
    const urgentEnded = worker.signals.next('attemptEnded', (e) => e.jobId === urgent.id);
    block.release('urgent');
    expect((await urgentEnded).outcome).toBe('COMPLETED');
    const waiting = await h.createJob();
    await h.dispatch(waiting.id, 1);
    await h.ns.nc.flush();
    await new Promise((r) => setTimeout(r, 300));
    expect((await h.job(waiting.id)).status).toBe('QUEUED');
    expect((await h.job(refused.id)).status).toBe('QUEUED');

    const waitingEnded = worker.signals.next('attemptEnded', (e) => e.jobId === waiting.id);
    block.release('ordinary');
    expect((await waitingEnded).outcome).toBe('COMPLETED');
    expect((await h.job(ordinary.id)).status).toBe('COMPLETED');
    await worker.stop();
  });

  it('answers only once its claim is decided: accepted when claimed, refused for an attempt it could not claim', async () => {
    const { worker } = await h.startWorker({ settings: { expressSlots: 1, workerId: 'express-claim' } });
    const job = await h.createJob();
    const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
    // Accepted means claimed: the job is the worker's in PostgreSQL when the answer arrives.
    expect(await express(worker.id, job.id)).toEqual({ v: 1, accepted: true });
    expect(['RUNNING', 'COMPLETED']).toContain((await h.job(job.id)).status);
    expect((await ended).outcome).toBe('COMPLETED');
    // The same attempt again: nothing to claim, and the express slot is free again after it.
    expect(await express(worker.id, job.id)).toEqual({ v: 1, accepted: false, reason: 'unclaimed' });
    const other = await h.createJob();
    expect(await express(worker.id, other.id)).toEqual({ v: 1, accepted: true });
    await worker.stop();
  });

  it('refuses an invalid express dispatch, and a worker without express slots does not listen for any', async () => {
    const { worker } = await h.startWorker({ settings: { expressSlots: 1, workerId: 'express-invalid' } });
    const reply = await h.ns.nc.request(h.ns.names.subjects.express(worker.id), JSON.stringify({ v: 1, jobId: 'not-a-uuid' }), { timeout: 5_000 });
    expect(ExpressAnswer.parse(reply.json())).toEqual({ v: 1, accepted: false, reason: 'invalid' });
    await worker.stop();
    // Stopped, it answers nothing; neither does a worker that has no express slots.
    const { worker: plain } = await h.startWorker({ settings: { workerId: 'express-none' } });
    const job = await h.createJob();
    await expect(express(plain.id, job.id)).rejects.toThrow();
    await expect(express(worker.id, job.id)).rejects.toThrow();
    expect((await h.job(job.id)).status).toBe('QUEUED');
    await plain.stop();
  });
});
