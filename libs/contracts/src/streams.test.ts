import { describe, expect, it } from 'vitest';
import { Limits } from './limits.js';
import { COMMAND_KINDS, DEFAULT_POOL, names } from './names.js';
import { type ConsumerSettings, bucketSettings, dispatchConsumer, schedulerConsumer, streamSettings } from './streams.js';

/** True when some subject matches both NATS subject patterns. */
function overlaps(a: string, b: string): boolean {
  const x = a.split('.');
  const y = b.split('.');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const [p, q] = [x[i], y[i]];
    if (p === undefined || q === undefined) return false;
    if (p === '>' || q === '>') return true;
    if (p !== '*' && q !== '*' && p !== q) return false;
  }
  return true;
}

/** True when every subject matched by `inner` is matched by `outer`. */
function within(inner: string, outer: string): boolean {
  const x = inner.split('.');
  const y = outer.split('.');
  for (let i = 0; i < x.length; i++) {
    const [p, q] = [x[i]!, y[i]];
    if (q === undefined) return false;
    if (q === '>') return true;
    if (p === '>') return false;
    if (q !== '*' && p !== q) return false;
  }
  return x.length === y.length;
}

describe('the subject helpers of this test', () => {
  it('match like NATS does', () => {
    expect(overlaps('a.b.>', 'a.*.c')).toBe(true);
    expect(overlaps('a.b.>', 'a.b')).toBe(false);
    expect(overlaps('a.*', 'a.b.c')).toBe(false);
    expect(overlaps('a.cmd.>', 'a.dispatch.>')).toBe(false);
    expect(within('a.b.c', 'a.*.c')).toBe(true);
    expect(within('a.b.>', 'a.>')).toBe(true);
    expect(within('a.>', 'a.b.>')).toBe(false);
    expect(within('a.*', 'a.b')).toBe(false);
    expect(within('a', 'a.>')).toBe(false);
  });
});

const POOLS = [DEFAULT_POOL, 'gpu', 'gpu-large', 'arm_64'];
const NAMESPACES = ['gantry', 'team-a', 'team_a'];

describe.each(NAMESPACES)('streams and consumers of namespace %s (NATS 2.9 rules)', (ns) => {
  const n = names(ns);
  const streams = streamSettings(n);
  const consumers: ConsumerSettings[] = [schedulerConsumer(n), ...POOLS.map((p) => dispatchConsumer(n, p))];
  const streamOf = (name: string) => streams.find((s) => s.name === name);

  it('has one stream per stream name, with file storage', () => {
    expect(streams.map((s) => s.name)).toEqual(Object.values(n.streams));
    for (const s of streams) expect(s.storage).toBe('file');
  });

  it('uses work-queue retention for commands and dispatch, limits for events and dead letters', () => {
    expect(streams.map((s) => [s.name, s.retention])).toEqual([
      [n.streams.commands, 'workqueue'],
      [n.streams.dispatch, 'workqueue'],
      [n.streams.events, 'limits'],
      [n.streams.deadLetters, 'limits'],
    ]);
  });

  it('gives no two streams overlapping subjects', () => {
    for (const [i, a] of streams.entries()) {
      for (const b of streams.slice(i + 1)) {
        for (const sa of a.subjects) for (const sb of b.subjects) expect(overlaps(sa, sb), `${sa} / ${sb}`).toBe(false);
      }
    }
  });

  it('stores every JetStream subject in its stream and no control subject in any', () => {
    const stored = (subject: string) => streams.filter((s) => s.subjects.some((p) => within(subject, p))).map((s) => s.name);
    for (const kind of COMMAND_KINDS) expect(stored(n.subjects.command(kind))).toEqual([n.streams.commands]);
    expect(stored(n.subjects.dispatch('gpu'))).toEqual([n.streams.dispatch]);
    expect(stored(n.subjects.events('8f14e45f-ceea-467f-a0e6-0d6f5d5c0a11', '0193b8f2-7c1e-7a4d-9b3a-6e5f4d3c2b1a'))).toEqual([
      n.streams.events,
    ]);
    expect(stored(n.subjects.deadLetter('submit'))).toEqual([n.streams.deadLetters]);
    const control = [n.subjects.cancel('w1'), n.subjects.heartbeat('w1'), n.subjects.heartbeatsAll];
    for (const subject of control) {
      expect(streams.some((s) => s.subjects.some((p) => overlaps(subject, p))), subject).toBe(false);
    }
  });

  it('keeps the duplicate window within the maximum age', () => {
    for (const s of streams) {
      expect(s.duplicateWindowMs).toBeGreaterThan(0);
      if (s.maxAgeMs > 0) expect(s.duplicateWindowMs).toBeLessThanOrEqual(s.maxAgeMs);
    }
  });

  it('stores any command up to the command limit, and dead-letters any stored command', () => {
    const commands = streamOf(n.streams.commands)!;
    const deadLetters = streamOf(n.streams.deadLetters)!;
    expect(commands.maxMsgBytes).toBeGreaterThanOrEqual(Limits.maxCommandBytes);
    expect(deadLetters.maxMsgBytes).toBeGreaterThanOrEqual(commands.maxMsgBytes);
  });

  it.each(consumers.map((c) => [c.durableName, c] as const))('consumer %s has more deliveries than backoff steps', (_, c) => {
    expect(c.backoffMs.length).toBeGreaterThan(0);
    expect(c.maxDeliver).toBeGreaterThan(c.backoffMs.length);
    for (const step of c.backoffMs) expect(step).toBeGreaterThan(0);
    expect(c.ackWaitMs).toBeGreaterThan(0);
    expect(c.maxAckPending).toBeGreaterThan(0);
  });

  it.each(consumers.map((c) => [c.durableName, c] as const))('consumer %s has one filter subject, inside its stream', (_, c) => {
    expect(typeof c.filterSubject).toBe('string');
    expect(Object.keys(c)).not.toContain('filterSubjects');
    const stream = streamOf(c.stream);
    expect(stream, c.stream).toBeDefined();
    expect(stream!.subjects.some((p) => within(c.filterSubject, p))).toBe(true);
  });

  it('gives the consumers of a work-queue stream disjoint filters', () => {
    const workQueues = streams.filter((s) => s.retention === 'workqueue');
    for (const s of workQueues) {
      const filters = consumers.filter((c) => c.stream === s.name).map((c) => c.filterSubject);
      expect(filters.length, s.name).toBeGreaterThan(0);
      for (const [i, a] of filters.entries()) {
        for (const b of filters.slice(i + 1)) expect(overlaps(a, b), `${a} / ${b}`).toBe(false);
      }
    }
  });

  it('lets the scheduler consume every command and each pool only its own dispatches', () => {
    expect(schedulerConsumer(n).filterSubject).toBe(n.subjects.commandsAll);
    for (const p of POOLS) {
      const c = dispatchConsumer(n, p);
      expect(c.durableName).toBe(n.consumers.dispatch(p));
      expect(c.filterSubject).toBe(n.subjects.dispatch(p));
    }
  });

  it('names the artifact bucket after the namespace', () => {
    expect(bucketSettings(n).map((b) => b.name)).toEqual([n.buckets.artifacts]);
  });
});

describe('streams of two namespaces', () => {
  it('never overlap', () => {
    const all = NAMESPACES.map((ns) => streamSettings(names(ns)));
    for (const [i, a] of all.entries()) {
      for (const b of all.slice(i + 1)) {
        for (const sa of a) {
          for (const sb of b) {
            expect(sa.name).not.toBe(sb.name);
            for (const x of sa.subjects) for (const y of sb.subjects) expect(overlaps(x, y), `${x} / ${y}`).toBe(false);
          }
        }
      }
    }
  });
});
