import { describe, expect, it } from 'vitest';
import { Semaphore } from './semaphore.js';

describe('Semaphore', () => {
  it('hands out at most its permits and queues the rest', async () => {
    const sem = new Semaphore(2);
    const order: number[] = [];
    const acquisitions = [1, 2, 3, 4].map((n) => sem.acquire().then(() => order.push(n)));
    expect(sem.held).toBe(2);
    expect(sem.waiting).toBe(2);
    await Promise.all(acquisitions.slice(0, 2));
    expect(order).toEqual([1, 2]);
    sem.release();
    sem.release();
    await Promise.all(acquisitions);
    expect(order).toEqual([1, 2, 3, 4]);
    expect(sem.held).toBe(2);
    expect(sem.waiting).toBe(0);
  });

  it('serves waiters first come, first served', async () => {
    const sem = new Semaphore(1);
    await sem.acquire();
    const order: string[] = [];
    const b = sem.acquire().then(() => order.push('b'));
    const c = sem.acquire().then(() => order.push('c'));
    sem.release();
    await b;
    sem.release();
    await c;
    expect(order).toEqual(['b', 'c']);
  });

  it('reports idle once every permit is back', async () => {
    const sem = new Semaphore(3);
    await sem.idle();
    await sem.acquire();
    await sem.acquire();
    let idle = false;
    const waiting = sem.idle().then(() => {
      idle = true;
    });
    sem.release();
    await Promise.resolve();
    expect(idle).toBe(false);
    sem.release();
    await waiting;
    expect(idle).toBe(true);
  });

  it('refuses a release without a held permit and a non-positive size', () => {
    expect(() => new Semaphore(1).release()).toThrow(/without a held permit/);
    expect(() => new Semaphore(0)).toThrow(RangeError);
  });
});
