import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@gantry/runtime';
import type { AttemptRun } from '../engine/job-runner.js';
import { InFlight } from '../in-flight.js';
import { WorkerSignals } from '../signals.js';
import { Slots } from '../slots.js';
import { createDispatchHandler } from './handle-dispatch.js';
import type { DispatchMessage } from './message.js';

describe('the dispatch handler', () => {
  it('does not reject, and frees its slot once, when the message cannot be settled (the connection closed)', async () => {
    const slots = new Slots(1);
    slots.occupy();
    const inFlight = new InFlight();
    const handle = createDispatchHandler({
      inFlight,
      slots,
      signals: new WorkerSignals(),
      logger: createLogger({ service: 'test', version: '0', level: 'silent' }),
      startAttempt: () => ({ run: async () => 'COMPLETED', signal: () => undefined }) as unknown as AttemptRun,
    });
    const closed = () => {
      throw new Error('connection closed');
    };
    const settled: string[] = [];
    const msg: DispatchMessage = {
      subject: 'dispatch',
      json: <T>() => ({ v: 1, jobId: randomUUID(), workspaceId: randomUUID(), attempt: 1, term: 1, dispatchedAt: new Date().toISOString() }) as T,
      ack: () => {
        settled.push('ack');
        closed();
      },
      nak: () => {
        settled.push('nak');
        closed();
      },
      term: closed,
      working: closed,
    };
    await expect(handle(msg)).resolves.toBeUndefined();
    expect(settled).toEqual(['ack', 'nak']);
    expect({ busy: slots.busy, free: slots.free, held: inFlight.size }).toEqual({ busy: 0, free: 1, held: 0 });
  });

  it('acks, and drops, a second dispatch of an attempt it holds, which the held attempt settles alone', async () => {
    const slots = new Slots(2);
    const inFlight = new InFlight();
    const dropped: string[] = [];
    const signals = new WorkerSignals();
    signals.on('dispatchDropped', (d) => dropped.push(d.reason));
    let finish!: () => void;
    const running = new Promise<void>((resolve) => (finish = resolve));
    let started = 0;
    const handle = createDispatchHandler({
      inFlight,
      slots,
      signals,
      logger: createLogger({ service: 'test', version: '0', level: 'silent' }),
      startAttempt: () => {
        started += 1;
        return { run: async () => (await running, 'COMPLETED'), signal: () => undefined } as unknown as AttemptRun;
      },
    });
    const dispatch = { v: 1, jobId: randomUUID(), workspaceId: randomUUID(), attempt: 1, term: 1, dispatchedAt: new Date().toISOString() };
    let seq = 0;
    const message = (settled: string[], at = ++seq): DispatchMessage => ({
      subject: 'dispatch',
      seq: at,
      json: <T>() => dispatch as T,
      ack: () => settled.push('ack'),
      nak: () => settled.push('nak'),
      term: () => settled.push('term'),
      working: () => undefined,
    });
    const [first, second] = [[] as string[], [] as string[]];
    slots.occupy();
    const held = handle(message(first));
    slots.occupy();
    await handle(message(second));
    expect({ second, first, dropped, started }).toEqual({ second: ['ack'], first: [], dropped: ['duplicate'], started: 1 });
    // The held message itself, redelivered (its ack wait passed): its attempt settles it.
    const again: string[] = [];
    slots.occupy();
    await handle(message(again, 1));
    expect({ again, dropped }).toEqual({ again: [], dropped: ['duplicate', 'duplicate'] });
    finish();
    await held;
    expect(first).toEqual(['ack']);
    expect(slots.busy).toBe(0);
  });
});
