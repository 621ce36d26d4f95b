import { describe, expect, it } from 'vitest';
import { cpuSince, cpuSnapshot, processTicks, runTimeBetween, runTimeSnapshot, schedstatRunNs } from './cpu.js';

describe('processTicks', () => {
  it('reads the name, own and children ticks, whatever the name holds', () => {
    const line = '4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 7 3 20 0 1 0 99 1000 10';
    expect(processTicks(line)).toEqual({ name: 'my (odd) name', own: 300, children: 10 });
  });
});

describe('cpuSince', () => {
  it('charges the CPU this process burns to it, by pid', () => {
    const before = cpuSnapshot();
    const start = process.cpuUsage();
    let x = 0;
    while (process.cpuUsage(start).user < 300_000) x += Math.sqrt(x + 1);
    const use = cpuSince(before, { me: process.pid, gone: undefined });
    expect(use.services.me).toBeGreaterThanOrEqual(0.2);
    expect(use.services).not.toHaveProperty('gone');
    expect(x).toBeGreaterThan(0);
  });
});

describe('runTimeBetween', () => {
  it('reads the run time of a schedstat line', () => {
    expect(schedstatRunNs('330513 3367872 2\n')).toBe(330_513);
  });

  it('charges the CPU this process burns to it, to the millisecond', () => {
    const before = runTimeSnapshot([process.pid]);
    const start = process.cpuUsage();
    let x = 0;
    while (process.cpuUsage(start).user < 50_000) x += Math.sqrt(x + 1);
    const used = runTimeBetween(before, runTimeSnapshot([process.pid]), { me: [process.pid], gone: [undefined] });
    // 50 ms of user time at least, and not much more than this loop and the second snapshot.
    expect(used.me).toBeGreaterThanOrEqual(45);
    expect(used.me).toBeLessThan(1_000);
    expect(used).not.toHaveProperty('gone');
    expect(x).toBeGreaterThan(0);
  });
});
