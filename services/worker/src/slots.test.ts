import { describe, expect, it } from 'vitest';
import { Slots } from './slots.js';

describe('Slots', () => {
  it('never hands out more than its total, counting reservations', async () => {
    const s = new Slots(3);
    const signal = new AbortController().signal;
    expect(await s.waitForFree(signal)).toBe(3);
    s.reserve(3);
    expect(s.free).toBe(0);
    expect(() => s.reserve(1)).toThrow(RangeError);
    s.occupy();
    s.occupy();
    s.unreserve(1);
    expect({ busy: s.busy, free: s.free }).toEqual({ busy: 2, free: 1 });
    s.reserve(1);
    const waiting = s.waitForFree(signal);
    s.release();
    expect(await waiting).toBe(1);
  });

  it('wakes a waiter with 0 on abort, and resolves idle when nothing is held', async () => {
    const s = new Slots(1);
    s.reserve(1);
    s.occupy();
    const ac = new AbortController();
    const waiting = s.waitForFree(ac.signal);
    ac.abort();
    expect(await waiting).toBe(0);
    const idle = s.idle();
    s.release();
    await idle;
    expect(() => s.release()).toThrow();
  });

  it('offers and fills fewer slots while some are withheld, and wakes a waiter when they are given back', async () => {
    const s = new Slots(3);
    let changes = 0;
    s.onChange = () => void (changes += 1);
    s.reserve(1);
    s.occupy();
    s.withhold(2);
    expect({ offered: s.offered, free: s.free, busy: s.busy }).toEqual({ offered: 1, free: 0, busy: 1 });
    // More than the total withholds them all; the job held runs on.
    s.withhold(5);
    expect({ offered: s.offered, free: s.free, busy: s.busy }).toEqual({ offered: 0, free: 0, busy: 1 });
    const waiting = s.waitForFree(new AbortController().signal);
    s.withhold(0);
    expect(await waiting).toBe(2);
    s.withhold(-1);
    expect({ offered: s.offered, changes }).toEqual({ offered: 3, changes: 4 });
  });
});
