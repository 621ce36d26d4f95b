import { describe, expect, it } from 'vitest';
import { GantryError } from '@gantry/contracts';
import { createLogger } from '@gantry/runtime';
import type { JobEvent } from '@gantry/contracts';
import type { JobWrite, LoadedJob, WriteResult } from '@gantry/store';
import { JobHold } from './job-hold.js';
import * as W from './writes.js';

const logger = createLogger({ service: 'test', version: '0', level: 'silent' });
const holder: W.Holder = { actor: 'worker:w', attempt: 1 };
const step = { id: 's1', name: 'a', phase: 'EXECUTION' as const, type: 'NOOP' };

/** The job a claim loads, as far as the hold cares. */
const loaded = { id: 'j', attempt: 1, status: 'RUNNING', steps: [] } as unknown as LoadedJob;

/** A writer whose answers the test controls, recording what it was sent and when; by default it applies, with the job when asked. */
function scriptedWriter(answers: ((w: JobWrite) => Promise<WriteResult>)[]) {
  const sent: JobWrite[] = [];
  return {
    sent,
    write(w: JobWrite) {
      sent.push(w);
      const applied = async (): Promise<WriteResult> => ({
        applied: true, status: w.to ?? 'RUNNING', attempt: w.set?.attempt ?? w.attempt, events: [], ...(w.load ? { job: loaded } : {}),
      });
      return (answers.shift() ?? applied)(w);
    },
  };
}

const unavailable = async (): Promise<WriteResult> => {
  throw new GantryError('UNAVAILABLE');
};

describe('JobHold', () => {
  it('claims with a load, then carries pending pieces with the next write', async () => {
    const writer = scriptedWriter([]);
    const hold = new JobHold({ writer, jobId: 'j', holder, onFenced: () => {}, logger: () => logger });
    expect(await hold.claim(W.claim(holder, 'w'))).toBe(loaded);
    hold.add(W.stepStarted(holder, step));
    hold.add(W.stepCompleted(holder, step, 1, {}, undefined));
    hold.patch({ progress: 50 });
    expect(await hold.end(W.complete(holder, 1, null))).toBe(true);
    expect(writer.sent.map((w) => w.events.map((e) => e.type))).toEqual([
      ['job.started'],
      ['step.started', 'step.completed', 'job.completed'],
    ]);
    expect(writer.sent[1]!.set).toMatchObject({ progress: 100 });
    expect(writer.sent[0]).toMatchObject({ expect: ['QUEUED'], to: 'RUNNING', attempt: 1, load: true });
    expect(writer.sent[1]!.load).toBeUndefined();
    expect(await hold.flush()).toBe(true);
    expect(writer.sent).toHaveLength(2);
  });

  it('sends the next write only after the previous one committed', async () => {
    let commit!: () => void;
    const first = new Promise<void>((r) => (commit = r));
    const writer = scriptedWriter([async (w) => (await first, { applied: true, status: 'RUNNING', attempt: w.attempt, events: [] })]);
    const hold = new JobHold({ writer, jobId: 'j', holder, onFenced: () => {}, logger: () => logger });
    hold.add(W.stepStarted(holder, step));
    const a = hold.flush();
    hold.add(W.stepSkipped(holder, step, 'x'));
    const b = hold.flush();
    await Promise.resolve();
    expect(writer.sent).toHaveLength(1);
    commit();
    expect(await a).toBe(true);
    expect(await b).toBe(true);
    expect(writer.sent).toHaveLength(2);
  });

  it('fences on the first refusal: calls onFenced once and sends nothing more', async () => {
    const writer = scriptedWriter([async () => ({ applied: false, status: 'QUEUED', attempt: 2, events: [] })]);
    let fenced = 0;
    const hold = new JobHold({ writer, jobId: 'j', holder, onFenced: () => (fenced += 1), logger: () => logger });
    hold.add(W.stepStarted(holder, step));
    expect(await hold.flush()).toBe(false);
    hold.add(W.stepSkipped(holder, step, 'x'));
    expect(await hold.flush()).toBe(false);
    expect(await hold.end(W.complete(holder, 0, null))).toBe(false);
    expect(fenced).toBe(1);
    expect(hold.fenced).toBe(true);
    expect(writer.sent).toHaveLength(1);
  });

  it('retries while PostgreSQL is unavailable and takes a refusal showing the intended state as applied, for a write without events', async () => {
    const writer = scriptedWriter([unavailable, async () => ({ applied: false, status: 'RUNNING', attempt: 1, events: [] })]);
    const hold = new JobHold({ writer, jobId: 'j', holder, onFenced: () => {}, logger: () => logger });
    hold.patch({ progress: 50 });
    expect(await hold.flush()).toBe(true);
    expect(writer.sent).toHaveLength(2);
  });

  it('takes a refused replay of a claim as refused: its replay would have found its event, so another worker claimed the attempt', async () => {
    const writer = scriptedWriter([unavailable, async () => ({ applied: false, status: 'RUNNING', attempt: 1, events: [] })]);
    let fenced = 0;
    const hold = new JobHold({ writer, jobId: 'j', holder, onFenced: () => (fenced += 1), logger: () => logger });
    expect(await hold.claim(W.claim(holder, 'w'))).toBeUndefined();
    expect(writer.sent.map((w) => w.replay)).toEqual([undefined, true]);
    expect(fenced).toBe(1);
  });

  it('replays a write whose answer was lost with the same event ids, so the store can find it', async () => {
    const writer = scriptedWriter([unavailable]);
    const hold = new JobHold({ writer, jobId: 'j', holder, onFenced: () => {}, logger: () => logger });
    hold.add(W.stepCompleted(holder, step, 1, {}, undefined));
    hold.add(W.stepStarted(holder, { ...step, id: 's2' }));
    expect(await hold.flush()).toBe(true);
    const [first, replay] = writer.sent;
    // A write that keeps the job RUNNING is a replay from its first try (a try given up may run late).
    expect(first!.replay).toBe(true);
    expect(replay!.replay).toBe(true);
    const ids = first!.events.map((e) => e.id);
    expect(ids.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(ids).size).toBe(2);
    expect(replay!.events.map((e) => e.id)).toEqual(ids);
  });

  it('fences a replayed step write that finds the attempt moved on since it landed: the attempt must not run on', async () => {
    // The write landed, its answer was lost; meanwhile the scheduler queued the job again as attempt 2.
    const writer = scriptedWriter([unavailable, async () => ({ applied: true, status: 'QUEUED', attempt: 2, events: [] })]);
    let fenced = 0;
    const hold = new JobHold({ writer, jobId: 'j', holder, onFenced: () => (fenced += 1), logger: () => logger });
    hold.add(W.stepStarted(holder, { ...step, id: 's2' }));
    expect(await hold.flush()).toBe(false);
    expect({ fenced, replays: writer.sent.map((w) => w.replay) }).toEqual({ fenced: 1, replays: [true, true] });
    // A replay that finds the attempt still running goes on.
    const still = scriptedWriter([unavailable, async () => ({ applied: true, status: 'RUNNING', attempt: 1, events: [] })]);
    const running = new JobHold({ writer: still, jobId: 'j', holder, onFenced: () => (fenced += 1), logger: () => logger });
    running.add(W.stepStarted(holder, { ...step, id: 's2' }));
    expect(await running.flush()).toBe(true);
    expect(fenced).toBe(1);
  });

  it('tells a replay the last sequence it saw stored, so the store looks for its event only after it', async () => {
    const writer = scriptedWriter([
      async () => ({ applied: true, status: 'RUNNING', attempt: 1, events: [{ sequence: 7 } as JobEvent], job: loaded }),
      unavailable,
    ]);
    const hold = new JobHold({ writer, jobId: 'j', holder, onFenced: () => {}, logger: () => logger });
    await hold.claim(W.claim(holder, 'w'));
    hold.add(W.stepStarted(holder, step));
    expect(await hold.flush()).toBe(true);
    // The claim (no replay), the step's first try and its retry: both replays after sequence 7.
    expect(writer.sent.map((w) => [w.replay, w.replayAfter])).toEqual([[undefined, undefined], [true, 7], [true, 7]]);
  });

  it('checks the attempt with its guard alone: a refusal fences it, a failure changes nothing, and checks do not pile up', async () => {
    let fenced = 0;
    const broke: unknown[] = [];
    const outage = scriptedWriter([unavailable, unavailable]);
    const hold = new JobHold({ writer: outage, jobId: 'j', holder, onFenced: () => (fenced += 1), onBroken: (e) => broke.push(e), logger: () => logger, retryForMs: 0 });
    hold.check();
    hold.check(); // queued behind the first: not sent again
    await hold.flush();
    expect(outage.sent.map((w) => [w.expect, w.events.length])).toEqual([[['RUNNING'], 0]]);
    hold.check();
    await hold.flush();
    // PostgreSQL unreachable: the checks tell nothing, and neither break the hold nor retry.
    expect({ sent: outage.sent.length, fenced, broken: hold.broken, broke }).toEqual({ sent: 2, fenced: 0, broken: false, broke: [] });
    // A refusal (the attempt was given to another worker) fences it.
    const moved = scriptedWriter([async () => ({ applied: false, status: 'QUEUED', attempt: 2, events: [] })]);
    const superseded = new JobHold({ writer: moved, jobId: 'j', holder, onFenced: () => (fenced += 1), logger: () => logger });
    superseded.check();
    expect(await superseded.flush()).toBe(false);
    expect({ fenced, isFenced: superseded.fenced }).toEqual({ fenced: 1, isFenced: true });
  });

  it('gives up on other errors and on a long outage', async () => {
    const writer = scriptedWriter([async () => {
      throw new GantryError('INTERNAL');
    }]);
    const broke: unknown[] = [];
    const hold = new JobHold({ writer, jobId: 'j', holder, onFenced: () => {}, onBroken: (err) => broke.push(err), logger: () => logger, retryForMs: 0 });
    await expect(hold.end(W.complete(holder, 0, null))).rejects.toThrow(GantryError);
    expect(hold.broken).toBe(true);
    hold.add(W.stepSkipped(holder, step, 'x'));
    await expect(hold.flush()).rejects.toThrow(GantryError);
    // Told once, with the write's error, for all the writes that fail after it.
    expect(broke).toHaveLength(1);
    expect(broke[0]).toBeInstanceOf(GantryError);
  });

  it('breaks, and says so, when PostgreSQL stays unreachable past retryForMs', async () => {
    const writer = scriptedWriter(Array.from({ length: 50 }, () => unavailable));
    let broke = 0;
    const hold = new JobHold({ writer, jobId: 'j', holder, onFenced: () => {}, onBroken: () => (broke += 1), logger: () => logger, retryForMs: 250 });
    hold.add(W.stepStarted(holder, step));
    // A flush that nobody awaits, as the output tick and flushSoon send theirs.
    hold.flushSoon();
    const deadline = Date.now() + 5_000;
    while (broke === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect({ broke, broken: hold.broken, fenced: hold.fenced }).toEqual({ broke: 1, broken: true, fenced: false });
  });
});
