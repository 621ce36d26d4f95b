import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { COMMAND_VERSIONS, CURRENT_COMMAND_VERSION } from './commands.js';
import { type GantryError, isGantryError } from './errors.js';
import { JobSpec } from './jobs.js';
import { nestsDeeperThan } from './json.js';
import { Limits } from './limits.js';
import { COMMAND_KINDS, type CommandKind } from './names.js';
import { formatPath, parseCommand, parseWith, readCommand, validateCommand } from './parse.js';

const WS = '8f14e45f-ceea-467f-a0e6-0d6f5d5c0a11';
const JOB = '0193b8f2-7c1e-7a4d-9b3a-6e5f4d3c2b1a';
const STEP = '0193b8f2-7c1e-7a4d-9b3a-6e5f4d3c2b1b';
const CMD = '0193b8f3-0000-7000-8000-000000000001';

const encode = (text: string) => new TextEncoder().encode(text);
const body = (value: unknown) => encode(JSON.stringify(value));

const VALID: Record<CommandKind, Record<string, unknown>> = {
  submit: {
    v: 1,
    kind: 'submit',
    id: CMD,
    workspaceId: WS,
    job: { type: 'build', steps: [{ name: 'make', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['make'] } }] },
  },
  cancel: { v: 1, kind: 'cancel', id: CMD, workspaceId: WS, jobId: JOB, reason: 'not needed' },
  retry: { v: 1, kind: 'retry', id: CMD, workspaceId: WS, jobId: JOB, actor: 'user:ana' },
  approve: {
    v: 1,
    kind: 'approve',
    id: CMD,
    workspaceId: WS,
    jobId: JOB,
    stepId: STEP,
    decision: 'reject',
    comment: 'missing notes',
    issuedAt: '2025-01-15T09:30:00.123Z',
  },
};

function refusal(kind: CommandKind, bytes: Uint8Array): GantryError {
  try {
    parseCommand(kind, bytes);
  } catch (err) {
    if (isGantryError(err)) return err;
    throw err;
  }
  throw new Error('the command was accepted');
}

describe('parseCommand accepts', () => {
  it.each(COMMAND_KINDS)('a valid %s command', (kind) => {
    const parsed = parseCommand(kind, body(VALID[kind]));
    expect(parsed.kind).toBe(kind);
    expect(parsed.id).toBe(CMD);
    expect(parsed.workspaceId).toBe(WS);
  });

  it('a submit command, filling the job defaults', () => {
    const parsed = parseCommand('submit', body(VALID.submit));
    expect(parsed.job!.priority).toBe(50);
    expect(parsed.job!.maxAttempts).toBe(3);
    expect(parsed.jobId).toBeUndefined();
  });

  it('an approve command with its decision', () => {
    const parsed = parseCommand('approve', body(VALID.approve));
    expect(parsed.decision).toBe('reject');
    expect(parsed.stepId).toBe(STEP);
  });

  it('a body of exactly the size limit', () => {
    const base = JSON.stringify({ ...VALID.cancel, reason: '' });
    const padded = base.replace('"reason":""', `"reason":""${' '.repeat(Limits.maxCommandBytes - base.length)}`);
    expect(encode(padded).byteLength).toBe(Limits.maxCommandBytes);
    expect(parseCommand('cancel', encode(padded)).jobId).toBe(JOB);
  });

  it('reads only the versions it lists', () => {
    expect(COMMAND_VERSIONS).toEqual([1]);
    expect(CURRENT_COMMAND_VERSION).toBe(1);
  });
});

describe('parseCommand refuses', () => {
  it('a body over the limit with PAYLOAD_TOO_LARGE, before reading it', () => {
    const err = refusal('submit', new Uint8Array(Limits.maxCommandBytes + 1).fill(0xff));
    expect(err.code).toBe('PAYLOAD_TOO_LARGE');
    expect(err.status).toBe(413);
    expect(err.message).toContain(String(Limits.maxCommandBytes));
  });

  it.each<[string, number[]]>([
    ['a lone continuation byte', [0x7b, 0x80, 0x7d]],
    ['an invalid byte', [0x7b, 0xff, 0x7d]],
    ['an overlong encoding', [0x22, 0xc0, 0xaf, 0x22]],
    ['an encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
    ['a truncated sequence', [0x22, 0xe2, 0x82, 0x22]],
  ])('invalid UTF-8 (%s) with MALFORMED_JSON', (_, bytes) => {
    const err = refusal('cancel', new Uint8Array(bytes));
    expect(err.code).toBe('MALFORMED_JSON');
    expect(err.status).toBe(400);
  });

  it.each(['', '{', '{"v":1,}', "{'v':1}", '{"v":1} x', 'undefined', 'NaN'])('bad JSON %j with MALFORMED_JSON', (text) => {
    expect(refusal('cancel', encode(text)).code).toBe('MALFORMED_JSON');
  });

  it.each(['[]', '[{"v":1}]', '"submit"', '1', 'true', 'null'])('a body that is not an object (%s)', (text) => {
    const err = refusal('submit', encode(text));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.message).toBe('command body must be a JSON object');
  });

  it.each<[string, unknown]>([
    ['version 2', 2],
    ['version 0', 0],
    ['version "1" as a string', '1'],
    ['version 1.5', 1.5],
    ['a null version', null],
  ])('%s with UNSUPPORTED_VERSION', (_, v) => {
    const err = refusal('cancel', body({ ...VALID.cancel, v }));
    expect(err.code).toBe('UNSUPPORTED_VERSION');
  });

  it('a missing version with UNSUPPORTED_VERSION, before looking at anything else', () => {
    const err = refusal('cancel', body({ kind: 'other' }));
    expect(err.code).toBe('UNSUPPORTED_VERSION');
    expect(err.message).toContain('null');
  });

  it.each(COMMAND_KINDS)('a command whose kind does not match the %s subject', (kind) => {
    const other = COMMAND_KINDS.find((k) => k !== kind)!;
    const err = refusal(kind, body(VALID[other]));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.issues).toEqual([{ path: 'kind', message: `expected "${kind}"` }]);
  });

  it('a command without a kind', () => {
    const { kind: _kind, ...rest } = VALID.retry;
    expect(refusal('retry', body(rest)).issues).toEqual([{ path: 'kind', message: 'expected "retry"' }]);
  });

  it.each<[CommandKind, Record<string, unknown>, string]>([
    ['cancel', { jobId: undefined }, 'jobId'],
    ['cancel', { jobId: 'job-1' }, 'jobId'],
    ['cancel', { id: 'not-a-uuid' }, 'id'],
    ['cancel', { workspaceId: 42 }, 'workspaceId'],
    ['cancel', { issuedAt: 'yesterday' }, 'issuedAt'],
    ['cancel', { extra: true }, 'extra'],
    ['approve', { decision: 'maybe' }, 'decision'],
    ['approve', { stepId: undefined }, 'stepId'],
    ['submit', { job: undefined }, 'job'],
    ['submit', { job: { type: 'build', steps: [] } }, 'job.steps'],
  ])('an invalid %s command (%j) with VALIDATION_FAILED at %s', (kind, change, path) => {
    const err = refusal(kind, body({ ...VALID[kind], ...change }));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.issues.map((i) => i.path)).toContain(path);
  });

  it('a submit over a job limit with LIMIT_EXCEEDED', () => {
    const steps = Array.from({ length: Limits.maxStepsPerJob + 1 }, (_, i) => ({ name: `s${i}`, phase: 'SETUP', type: 'NOOP' }));
    const err = refusal('submit', body({ ...VALID.submit, job: { type: 'big', steps } }));
    expect(err.code).toBe('LIMIT_EXCEEDED');
    expect(err.issues.map((i) => i.path)).toEqual(['job.steps']);
  });

  it('with a message naming the first issue and counting the rest', () => {
    const err = refusal('cancel', body({ ...VALID.cancel, jobId: 'x', workspaceId: 'y', extra: 1 }));
    expect(err.issues).toHaveLength(3);
    expect(err.message).toMatch(/^invalid cancel command: workspaceId: .+ \(and 2 more\)$/);
  });
});

describe('parseWith and formatPath', () => {
  it('return the parsed value when valid', () => {
    const value = parseWith(JobSpec, { type: 't', steps: [{ name: 'a', phase: 'SETUP', type: 'NOOP' }] }, 'job');
    expect(value.type).toBe('t');
  });

  it('name what was invalid in the message', () => {
    try {
      parseWith(JobSpec, { steps: [] }, 'runner job');
      expect.unreachable();
    } catch (err) {
      expect(isGantryError(err, 'VALIDATION_FAILED')).toBe(true);
      expect((err as Error).message).toMatch(/^invalid runner job: /);
    }
  });

  it('join a path with dots', () => {
    expect(formatPath(['steps', 2, 'spec', 'argv'])).toBe('steps.2.spec.argv');
    expect(formatPath([])).toBe('');
  });
});

describe('readCommand and validateCommand, the two halves of parseCommand', () => {
  it('reads a command whose schema is wrong (its workspace is readable), and validateCommand refuses it', () => {
    const raw = readCommand('submit', body({ ...VALID.submit, job: { type: 'build', steps: 'not a list' } }));
    expect(raw).toMatchObject({ kind: 'submit', value: { workspaceId: WS } });
    expect(() => validateCommand(raw)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(validateCommand(readCommand('cancel', body(VALID.cancel)))).toMatchObject({ jobId: JOB });
  });

  it('refuses in readCommand what is cheap to see: size, JSON, version, kind', () => {
    const codeOf = (kind: CommandKind, bytes: Uint8Array) => {
      try {
        readCommand(kind, bytes);
        return 'accepted';
      } catch (err) {
        return isGantryError(err) ? err.code : 'thrown';
      }
    };
    expect(codeOf('cancel', new Uint8Array(Limits.maxCommandBytes + 1))).toBe('PAYLOAD_TOO_LARGE');
    expect(codeOf('cancel', encode('{"v":1,'))).toBe('MALFORMED_JSON');
    expect(codeOf('cancel', body([1]))).toBe('VALIDATION_FAILED');
    expect(codeOf('cancel', body({ ...VALID.cancel, v: 99 }))).toBe('UNSUPPORTED_VERSION');
    expect(codeOf('retry', body(VALID.cancel))).toBe('VALIDATION_FAILED');
  });
});

describe('nesting', () => {
  const nested = (levels: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { x: value };
    return value;
  };

  it('counts levels of objects and arrays, and stops descending at the limit', () => {
    expect(nestsDeeperThan(nested(3), 3)).toBe(false);
    expect(nestsDeeperThan(nested(4), 3)).toBe(true);
    expect(nestsDeeperThan('text', 0)).toBe(false);
    // Far deeper than a recursive check could go.
    expect(nestsDeeperThan(nested(200_000), Limits.maxJsonDepth)).toBe(true);
  });

  it('refuses input nested past maxJsonDepth as LIMIT_EXCEEDED before the schema runs', () => {
    const deep = { v: 1, kind: 'submit', id: '00000000-0000-4000-8000-000000000000', payload: nested(10_000) };
    expect(() => parseWith(z.json(), deep, 'submit command')).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }));
    expect(parseWith(z.json(), nested(Limits.maxJsonDepth))).toEqual(nested(Limits.maxJsonDepth));
  });
});
