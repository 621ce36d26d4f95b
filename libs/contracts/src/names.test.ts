import { describe, expect, it } from 'vitest';
import { COMMAND_KINDS, DEFAULT_NAMESPACE, DEFAULT_POOL, type Names, names } from './names.js';

const WS = '8f14e45f-ceea-467f-a0e6-0d6f5d5c0a11';
const JOB = '0193b8f2-7c1e-7a4d-9b3a-6e5f4d3c2b1a';

describe('names() for the default namespace', () => {
  const n = names();

  it('uses the namespace "gantry"', () => {
    expect(DEFAULT_NAMESPACE).toBe('gantry');
    expect(n.namespace).toBe('gantry');
    expect(names('gantry').streams).toEqual(n.streams);
    expect(names('gantry').subjects.command('submit')).toBe(n.subjects.command('submit'));
  });

  it('derives the stream names', () => {
    expect(n.streams).toEqual({
      commands: 'GANTRY_COMMANDS',
      dispatch: 'GANTRY_DISPATCH',
      events: 'GANTRY_EVENTS',
      deadLetters: 'GANTRY_DEAD_LETTERS',
    });
  });

  it('derives one subject per command kind, all under the commands wildcard', () => {
    expect(COMMAND_KINDS.map((k) => n.subjects.command(k))).toEqual([
      'gantry.cmd.submit',
      'gantry.cmd.cancel',
      'gantry.cmd.retry',
      'gantry.cmd.approve',
    ]);
    expect(n.subjects.commandsAll).toBe('gantry.cmd.>');
  });

  it('derives dispatch, event, dead-letter and control subjects', () => {
    expect(n.subjects.dispatch(DEFAULT_POOL)).toBe('gantry.dispatch.default');
    expect(n.subjects.dispatch('gpu-large')).toBe('gantry.dispatch.gpu-large');
    expect(n.subjects.dispatchAll).toBe('gantry.dispatch.>');
    expect(n.subjects.events(WS, JOB)).toBe(`gantry.events.${WS}.${JOB}`);
    expect(n.subjects.workspaceEvents(WS)).toBe(`gantry.events.${WS}.*`);
    expect(n.subjects.eventsAll).toBe('gantry.events.>');
    expect(n.subjects.deadLetter('submit')).toBe('gantry.dlq.submit');
    expect(n.subjects.deadLettersAll).toBe('gantry.dlq.>');
    expect(n.subjects.cancel('worker-7_a')).toBe('gantry.ctl.cancel.worker-7_a');
    expect(n.subjects.heartbeat('worker-7_a')).toBe('gantry.ctl.heartbeat.worker-7_a');
    expect(n.subjects.heartbeatsAll).toBe('gantry.ctl.heartbeat.*');
    expect(n.subjects.maxDeliveriesAdvisory('GANTRY_COMMANDS', 'scheduler')).toBe(
      '$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.GANTRY_COMMANDS.scheduler',
    );
  });

  it('keeps a dead-letter source to one subject token', () => {
    expect(n.subjects.deadLetter('a.b *>c')).toBe('gantry.dlq.a_b___c');
  });

  it('derives consumer and bucket names', () => {
    expect(n.consumers.scheduler).toBe('scheduler');
    expect(n.consumers.dispatch(DEFAULT_POOL)).toBe('dispatch-default');
    expect(n.buckets.artifacts).toBe('gantry-artifacts');
  });

  it('is frozen', () => {
    expect(Object.isFrozen(n)).toBe(true);
    expect(Object.isFrozen(n.streams)).toBe(true);
    expect(Object.isFrozen(n.subjects)).toBe(true);
  });
});

describe('names() refuses what would break a subject or a name', () => {
  it.each(['', 'Gantry', '1gantry', '-gantry', 'gan.try', 'gan*', 'gan>', 'gan try', 'gän', 'a'.repeat(33)])(
    'namespace %j',
    (ns) => {
      expect(() => names(ns)).toThrow(RangeError);
    },
  );

  it('accepts a namespace of 32 characters with digits, "_" and "-"', () => {
    expect(names(`a${'b0_-'.repeat(7)}bcd`).namespace).toHaveLength(32);
  });

  it.each(['', 'GPU', 'gpu.large', '*', '>', 'gpu large', '1gpu', 'a'.repeat(65)])('pool %j', (pool) => {
    const n = names();
    expect(() => n.subjects.dispatch(pool)).toThrow(RangeError);
    expect(() => n.consumers.dispatch(pool)).toThrow(RangeError);
  });

  it.each([
    'not-a-uuid',
    '8F14E45F-CEEA-467F-A0E6-0D6F5D5C0A11',
    '8f14e45f.ceea-467f-a0e6-0d6f5d5c0a11',
    '8f14e45f-ceea-467f-a0e6-0d6f5d5c0a1*',
    '8f14e45f-ceea-467f-a0e6-0d6f5d5c0a1>',
    '8f14e45fceea467fa0e60d6f5d5c0a11',
    '------------------------------------',
    '8f14e45f0ceea0467f0a0e600d6f5d5c0a11',
  ])('uuid %j', (id) => {
    const n = names();
    expect(() => n.subjects.events(id, JOB)).toThrow(RangeError);
    expect(() => n.subjects.events(WS, id)).toThrow(RangeError);
    expect(() => n.subjects.workspaceEvents(id)).toThrow(RangeError);
  });

  it.each(['', 'w.1', 'w*', 'w>', 'w 1', 'x'.repeat(129)])('worker id %j', (id) => {
    const n = names();
    expect(() => n.subjects.cancel(id)).toThrow(RangeError);
    expect(() => n.subjects.heartbeat(id)).toThrow(RangeError);
  });
});

/** Namespaces that differ only in ways a careless derivation could fold together. */
const NAMESPACES = [
  'gantry',
  'gantry-test',
  'gantry_test',
  'gantrytest',
  'team-a',
  'team_a',
  'teama',
  'a',
  'a-b-c',
  'a_b_c',
  'a-b_c',
  'a_b-c',
  'a_dead',
  'dead',
];

function namesOf(n: Names): string[] {
  return [...Object.values(n.streams), n.buckets.artifacts];
}

function subjectsOf(n: Names): string[] {
  const s = n.subjects;
  return [
    ...COMMAND_KINDS.map((k) => s.command(k)),
    s.commandsAll,
    s.dispatch(DEFAULT_POOL),
    s.dispatchAll,
    s.events(WS, JOB),
    s.workspaceEvents(WS),
    s.eventsAll,
    s.deadLetter('submit'),
    s.deadLettersAll,
    s.cancel('w1'),
    s.heartbeat('w1'),
    s.heartbeatsAll,
  ];
}

describe('two namespaces never share a name', () => {
  const all = NAMESPACES.map((ns) => names(ns));

  it.each(all.flatMap((a, i) => all.slice(i + 1).map((b) => [a.namespace, b.namespace] as const)))(
    'streams and buckets of %s and %s are distinct',
    (a, b) => {
      const mine = new Set(namesOf(names(a)));
      const shared = namesOf(names(b)).filter((x) => mine.has(x));
      expect(shared).toEqual([]);
    },
  );

  it('starts every subject with the namespace as its own token', () => {
    for (const n of all) {
      for (const subject of subjectsOf(n)) expect(subject.split('.')[0]).toBe(n.namespace);
    }
  });

  it('gives each deployment four distinct stream names', () => {
    for (const n of all) expect(new Set(Object.values(n.streams)).size).toBe(4);
  });
});

describe('names are valid NATS names', () => {
  it('uses no whitespace, ".", "*", ">" or path separators in stream, consumer and bucket names', () => {
    for (const n of NAMESPACES.map((ns) => names(ns))) {
      for (const name of [...namesOf(n), n.consumers.scheduler, n.consumers.dispatch('gpu_2-x')]) {
        expect(name).toMatch(/^[A-Za-z0-9_-]+$/);
      }
    }
  });

  it('uses only non-empty tokens of safe characters in subjects', () => {
    for (const n of NAMESPACES.map((ns) => names(ns))) {
      for (const subject of subjectsOf(n)) {
        for (const token of subject.split('.')) expect(token).toMatch(/^([A-Za-z0-9_-]+|\*|>)$/);
      }
    }
  });
});
