import { describe, expect, it } from 'vitest';
import type { RawCommand } from '@gantry/contracts';
import { inRankOrder, type Rank, rankOf } from './overtaking.js';
import { takePass } from './consumer.js';

const job = (priority?: number, idempotencyKey?: string) => ({ type: 't', steps: [], ...(priority === undefined ? {} : { priority }), ...(idempotencyKey ? { idempotencyKey } : {}) });
const submit = (value: Record<string, unknown>): RawCommand<'submit'> => ({ kind: 'submit', value: { v: 1, kind: 'submit', id: 'c', workspaceId: 'w', ...value } });

describe('rankOf', () => {
  it('ranks a submit carrying every spec by its highest priority, with its ids and keys', () => {
    expect(rankOf(submit({ jobs: [{ jobId: 'a', job: job(10) }, { jobId: 'b', job: job(70, 'k') }] }))).toEqual({ priority: 70, ids: ['a', 'b'], keys: ['k'] });
    expect(rankOf(submit({ jobId: 'a', job: job() }))).toEqual({ priority: 50, ids: ['a'], keys: [] });
    // A single job without its own id is created under the command's id.
    expect(rankOf(submit({ job: job(90) }))).toEqual({ priority: 90, ids: ['c'], keys: [] });
  });

  it('ranks stored jobs named without their spec by the command’s priority hint (the API’s)', () => {
    expect(rankOf(submit({ jobs: [{ jobId: 'a' }, { jobId: 'b' }], priority: 80 }))).toEqual({ priority: 80, ids: ['a', 'b'], keys: [] });
    expect(rankOf(submit({ jobs: [{ jobId: 'a', job: job(90) }, { jobId: 'b' }], priority: 20 }))).toEqual({ priority: 90, ids: ['a', 'b'], keys: [] });
  });

  it('gives no rank to stored ids without a hint, other kinds, or shapes the schema check will refuse', () => {
    expect(rankOf(submit({ jobs: [{ jobId: 'a', job: job(90) }, { jobId: 'b' }] }))).toBeUndefined();
    expect(rankOf(submit({ jobs: [{ jobId: 'a' }], priority: 'high' }))).toBeUndefined();
    expect(rankOf({ kind: 'cancel', value: { jobId: 'a' } })).toBeUndefined();
    expect(rankOf(submit({ jobs: [] }))).toBeUndefined();
    expect(rankOf(submit({ jobs: [{ jobId: 'a', job: { ...job(), priority: 'high' } }] }))).toBeUndefined();
  });
});

const rank = (priority: number, ids: string[], keys: string[] = []): Rank => ({ priority, ids, keys });
const item = (n: string, r?: Rank) => ({ n, rank: r, workspace: 'w', bytes: 100 });
const order = (items: readonly { n: string }[]) => items.map((i) => i.n);

describe('inRankOrder', () => {
  it('lets a higher-priority submit go before earlier ones, equal priorities in arrival order', () => {
    const items = [item('low1', rank(10, ['a'])), item('low2', rank(10, ['b'])), item('high', rank(90, ['c'])), item('mid', rank(50, ['d']))];
    expect(order(inRankOrder(items))).toEqual(['high', 'mid', 'low1', 'low2']);
  });

  it('moves nothing past a command without a rank (a cancel, a retry, stored ids)', () => {
    const items = [item('low1', rank(10, ['a'])), item('cancel'), item('high', rank(90, ['c'])), item('low2', rank(10, ['d'])), item('urgent', rank(100, ['e']))];
    expect(order(inRankOrder(items))).toEqual(['low1', 'cancel', 'urgent', 'high', 'low2']);
  });

  it('keeps a run in arrival order when two of its submits name the same job or idempotency key', () => {
    expect(order(inRankOrder([item('low', rank(10, ['a'])), item('high', rank(90, ['a']))]))).toEqual(['low', 'high']);
    expect(order(inRankOrder([item('low', rank(10, ['a'], ['k'])), item('high', rank(90, ['b'], ['k']))]))).toEqual(['low', 'high']);
  });
});

describe('takePass with ranks', () => {
  it('takes a workspace’s high-priority submit before the low ones queued ahead of it', () => {
    const queue = [item('low1', rank(10, ['a'])), item('low2', rank(10, ['b'])), item('high', rank(90, ['c']))];
    expect(order(takePass(queue, 1, 10_000, new Map(), 0))).toEqual(['high']);
    expect(order(queue)).toEqual(['low1', 'low2']);
  });
});
