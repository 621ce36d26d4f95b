import { randomUUID } from 'node:crypto';
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { Headers, Limits, names as namesOf, RetryCommand } from '@gantry/contracts';
import { createLogger, createMetrics } from '@gantry/runtime';
import { schedulerMetrics } from '../metrics.js';
import type { CommandContext } from './context.js';
import { CommandConsumer, inWaves, takePass, workspaceOnArrival } from './consumer.js';

const item = (workspace: string, n: number, bytes = 100) => ({ workspace, n, bytes });
const names = (items: readonly { workspace: string; n: number }[]) => items.map((i) => `${i.workspace}${i.n}`);

describe('takePass', () => {
  it('takes turns across workspaces, keeps each workspace’s order, and leaves the rest queued in order', () => {
    const queue = [item('a', 0), item('a', 1), item('a', 2), item('b', 0), item('a', 3), item('b', 1)];
    expect(names(takePass(queue, 4, 10_000, new Map(), 0))).toEqual(['a0', 'a1', 'b0', 'b1']);
    expect(names(queue)).toEqual(['a2', 'a3']);
  });

  it('stops at the byte budget, but always takes one message', () => {
    const queue = [item('a', 0, 300), item('b', 0, 300), item('a', 1, 300)];
    expect(names(takePass(queue, 10, 700, new Map(), 0))).toEqual(['a0', 'b0']);
    expect(names(takePass(queue, 10, 10, new Map(), 1))).toEqual(['a1']);
    expect(queue).toEqual([]);
  });

  it('serves first the workspace served least recently, so a big one cannot fill every pass', () => {
    const queue = [item('a', 0, 500), item('a', 1, 500), item('a', 2, 500), item('b', 0, 500)];
    const lastServed = new Map([['a', 0]]);
    expect(names(takePass(queue, 10, 600, lastServed, 1))).toEqual(['b0']);
    expect(names(takePass(queue, 10, 600, lastServed, 2))).toEqual(['a0']);
    queue.push(item('c', 0, 500));
    expect(names(takePass(queue, 10, 600, lastServed, 3))).toEqual(['c0']);
    expect(names(takePass(queue, 10, 600, lastServed, 4))).toEqual(['a1']);
  });

  it('leaves the messages of a workspace with a pass running queued, and remembers when it was served', () => {
    const queue = [item('a', 0), item('b', 0), item('a', 1), item('b', 1)];
    const lastServed = new Map([['a', 0], ['b', 1]]);
    expect(names(takePass(queue, 10, 10_000, lastServed, 2, new Set(['a'])))).toEqual(['b0', 'b1']);
    expect(names(queue)).toEqual(['a0', 'a1']);
    expect(lastServed.get('a')).toBe(0);
    expect(takePass(queue, 10, 10_000, lastServed, 3, new Set(['a']))).toEqual([]);
    expect(names(takePass(queue, 10, 10_000, lastServed, 4))).toEqual(['a0', 'a1']);
  });
});

describe('takePass and unread messages', () => {
  /** An item whose rank, like a message queued by its workspace header, is read only when asked for. */
  const unread = (workspace: string, n: number, bytes: number, reads: string[]) => ({
    workspace,
    n,
    bytes,
    get rank() {
      reads.push(`${workspace}${n}`);
      return undefined;
    },
  });

  it('reads no message of a workspace none of whose messages fits what is left of the budget', () => {
    const reads: string[] = [];
    const queue = [unread('a', 0, 500, reads), unread('a', 1, 400, reads), unread('b', 0, 100, reads)];
    expect(names(takePass(queue, 10, 450, new Map([['a', 0]]), 1))).toEqual(['b0']);
    expect(reads).toEqual(['b0']);
    // On its own turn the workspace's messages are read (to order them), and the first one goes.
    expect(names(takePass(queue, 10, 450, new Map([['a', 0]]), 2))).toEqual(['a0']);
    expect(reads).toEqual(['b0', 'a0', 'a1']);
  });
});

describe('workspaceOnArrival', () => {
  const WS = '8f14e45f-ceea-467f-a0e6-0d6f5d5c0a11';
  const OTHER = '0193b8f2-7c1e-7a4d-9b3a-6e5f4d3c2b1a';
  const message = (body: string | Uint8Array, header?: string) => {
    const h = natsHeaders();
    if (header !== undefined) h.set(Headers.workspace, header);
    return { headers: h, data: typeof body === 'string' ? new TextEncoder().encode(body) : body };
  };

  it('takes the header over the body, and the body’s first top-level workspaceId without one', () => {
    const body = JSON.stringify({ v: 1, kind: 'submit', workspaceId: WS, job: { payload: { workspaceId: OTHER } } });
    expect(workspaceOnArrival(message(body, OTHER))).toEqual({ workspace: OTHER, from: 'header' });
    expect(workspaceOnArrival(message(body))).toEqual({ workspace: WS, from: 'body' });
  });

  it('is lower case, as the schema makes a command’s workspaceId', () => {
    const body = JSON.stringify({ v: 1, kind: 'cancel', workspaceId: WS.toUpperCase() });
    expect(workspaceOnArrival(message(body))).toEqual({ workspace: WS, from: 'body' });
    expect(workspaceOnArrival(message(body, OTHER.toUpperCase()))).toEqual({ workspace: OTHER, from: 'header' });
  });

  it('leaves to the read a body it cannot place or that is over the size limit', () => {
    expect(workspaceOnArrival(message('{"v":1,'))).toBeUndefined();
    expect(workspaceOnArrival(message(`{"workspaceId":"8f14e45f\\u002d"}`))).toBeUndefined();
    const big = new TextEncoder().encode(`{"workspaceId":"${WS}","pad":"${'x'.repeat(Limits.maxCommandBytes)}"}`);
    expect(workspaceOnArrival(message(big))).toBeUndefined();
  });
});

describe('inWaves', () => {
  const command = (workspace: string, kind: 'submit' | 'cancel' | 'retry' | 'approve', n: number) => ({ workspace, kind, n });
  const labels = (waves: readonly (readonly { workspace: string; kind: string; n: number }[])[]) =>
    waves.map((wave) => wave.map((c) => `${c.workspace}${c.n}:${c.kind}`));

  it('keeps a pass of one kind in one wave, whatever its workspaces', () => {
    expect(labels(inWaves([command('a', 'submit', 0), command('b', 'submit', 0), command('a', 'submit', 1)]))).toEqual([
      ['a0:submit', 'b0:submit', 'a1:submit'],
    ]);
  });

  it('starts a new wave where a workspace’s kind changes, so a cancel after a retry is handled after it', () => {
    const pass = [command('a', 'retry', 0), command('b', 'submit', 0), command('a', 'cancel', 1), command('b', 'submit', 1), command('a', 'retry', 2)];
    expect(labels(inWaves(pass))).toEqual([['a0:retry', 'b0:submit', 'b1:submit'], ['a1:cancel'], ['a2:retry']]);
  });
});

describe('CommandConsumer.holds', () => {
  it('counts a command it put back as pending until it is back, so the sweep of given-up commands leaves it alone', async () => {
    const naks: number[] = [];
    const msg = { seq: 42, info: { deliveryCount: 1 }, nak: () => void naks.push(42), ack: () => undefined, working: () => undefined } as unknown as JsMsg;
    // Its handling fails: PostgreSQL cannot be reached.
    const ctx = { pool: { query: () => Promise.reject(new Error('connection refused')) } } as unknown as CommandContext;
    const consumer = new CommandConsumer({
      js: {} as JetStreamClient,
      names: namesOf('unit'),
      ctx,
      deadLetter: () => Promise.reject(new Error('not refused')),
      metrics: schedulerMetrics(createMetrics({ service: 'test', version: '0', defaultMetrics: false }).registry),
      logger: createLogger({ service: 'test', version: '0', level: 'silent' }),
    });
    const command = RetryCommand.parse({ v: 1, kind: 'retry', id: randomUUID(), workspaceId: randomUUID(), jobId: randomUUID() });
    await consumer.process([{ msg, kind: 'retry', incoming: { command, credential: undefined } }]);
    expect(naks).toEqual([42]);
    expect(consumer.holds(42)).toBe(true);
    expect(consumer.holds(43)).toBe(false);
    // The server gave it up: no longer pending.
    consumer.givenUp(42);
    expect(consumer.holds(42)).toBe(false);
  });
});
