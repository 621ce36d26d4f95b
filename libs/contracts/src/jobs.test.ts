import { describe, expect, it } from 'vitest';
import { type GantryError, isGantryError } from './errors.js';
import { Instant, JobSpec, type JobSpecInput, runAtTooFar } from './jobs.js';
import { JobDefaults, Limits, Priority } from './limits.js';
import { parseWith } from './parse.js';
import { AiActionSpec, ArtifactSpec, CommandSpec, GateSpec, NoopSpec } from './steps.js';

type StepInput = JobSpecInput['steps'][number];

const noop = (name: string): StepInput => ({ name, phase: 'EXECUTION', type: 'NOOP' });
const job = (extra: Partial<JobSpecInput> = {}): JobSpecInput => ({ type: 'build', steps: [noop('only')], ...extra });
const withStep = (type: string, spec: unknown, extra: Record<string, unknown> = {}): unknown =>
  job({ steps: [noop('first'), { name: 'second', phase: 'EXECUTION', type, spec, ...extra } as StepInput] });

/** The GantryError parseWith throws for `input`. */
function refusal(input: unknown): GantryError {
  try {
    parseWith(JobSpec, input, 'job');
  } catch (err) {
    if (isGantryError(err)) return err;
    throw err;
  }
  throw new Error('the job was accepted');
}

const paths = (err: GantryError) => err.issues.map((i) => i.path);

describe('JobSpec defaults', () => {
  it('fills every optional field of a minimal job', () => {
    const parsed = JobSpec.parse(job());
    expect(parsed.priority).toBe(50);
    expect(parsed.payload).toEqual({});
    expect(parsed.timeoutMs).toBe(3_600_000);
    expect(parsed.maxAttempts).toBe(3);
    expect(parsed.backoff).toEqual({ kind: 'exponential', initialMs: 1000, maxMs: 300_000, jitter: 0.2 });
    expect(parsed.pool).toBeUndefined();
    expect(parsed.runAt).toBeUndefined();
    expect(parsed.steps[0]!.spec).toEqual({});
  });

  it('matches the documented defaults and ranges', () => {
    expect(Priority).toEqual({ min: 0, max: 100, default: 50 });
    expect(JobDefaults.maxAttempts).toBe(3);
    expect(JobDefaults.timeoutMs).toBe(3_600_000);
  });

  it('completes a partial backoff policy', () => {
    expect(JobSpec.parse(job({ backoff: { kind: 'fixed', initialMs: 10 } })).backoff).toEqual({
      kind: 'fixed',
      initialMs: 10,
      maxMs: 300_000,
      jitter: 0.2,
    });
  });

  it('keeps what the submitter gave', () => {
    const parsed = JobSpec.parse(
      job({ priority: 0, pool: 'gpu', payload: { a: [1, 'x', null, { b: true }] }, runAt: '2030-01-01T00:00:00+02:00' }),
    );
    expect(parsed.priority).toBe(0);
    expect(parsed.pool).toBe('gpu');
    expect(parsed.payload).toEqual({ a: [1, 'x', null, { b: true }] });
    expect(parsed.runAt).toBe('2030-01-01T00:00:00+02:00');
  });
});

describe('JobSpec refusals', () => {
  it('names an unknown top-level field', () => {
    const err = refusal({ ...job(), colour: 'blue' });
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.issues).toEqual([{ path: 'colour', message: 'unknown field' }]);
  });

  it('names an unknown step field with its path', () => {
    const err = refusal(job({ steps: [noop('a'), { ...noop('b'), retries: 2 } as StepInput] }));
    expect(err.issues).toEqual([{ path: 'steps.1.retries', message: 'unknown field' }]);
  });

  it('names an unknown field of a built-in spec with its path', () => {
    const err = refusal(withStep('COMMAND', { argv: ['make'], color: true }));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.issues).toEqual([{ path: 'steps.1.spec.color', message: 'unknown field' }]);
  });

  it.each<[string, unknown, string]>([
    ['a missing type', { steps: [noop('a')] }, 'type'],
    ['no steps', job({ steps: [] }), 'steps'],
    ['an unknown phase', job({ steps: [{ ...noop('a'), phase: 'TEARDOWN' } as unknown as StepInput] }), 'steps.0.phase'],
    ['a fractional priority', job({ priority: 1.5 }), 'priority'],
    ['a negative priority', job({ priority: -1 }), 'priority'],
    ['a pool that is not a subject token', job({ pool: 'gpu.large' }), 'pool'],
    ['a runAt without offset', job({ runAt: '2030-01-01T00:00:00' }), 'runAt'],
    ['a payload that is an array', job({ payload: [] as unknown as Record<string, never> }), 'payload'],
    ['an unknown backoff kind', job({ backoff: { kind: 'linear' as 'fixed' } }), 'backoff.kind'],
    ['an empty step name', job({ steps: [noop('')] }), 'steps.0.name'],
  ])('refuses %s with VALIDATION_FAILED at its path', (_, input, path) => {
    const err = refusal(input);
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(paths(err)).toContain(path);
  });

  it('refuses a step name used twice, at the second use', () => {
    const err = refusal(job({ steps: [noop('build'), noop('test'), noop('build')] }));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.issues).toEqual([{ path: 'steps.2.name', message: 'step name "build" is used twice' }]);
  });
});

describe('JobSpec limits answer LIMIT_EXCEEDED', () => {
  const many = (count: number) => Array.from({ length: count }, (_, i) => noop(`s${i}`));
  const payloadOf = (bytes: number) => ({ blob: 'x'.repeat(bytes - '{"blob":""}'.length) });

  it.each<[string, unknown, string]>([
    ['too many steps', job({ steps: many(Limits.maxStepsPerJob + 1) }), 'steps'],
    ['a payload over the limit', job({ payload: payloadOf(Limits.maxPayloadBytes + 1) }), 'payload'],
    ['a job type over the name length', job({ type: 't'.repeat(Limits.maxNameLength + 1) }), 'type'],
    ['an idempotency key over the name length', job({ idempotencyKey: 'k'.repeat(Limits.maxNameLength + 1) }), 'idempotencyKey'],
    ['too many attempts', job({ maxAttempts: Limits.maxAttempts + 1 }), 'maxAttempts'],
    ['a timeout over the limit', job({ timeoutMs: Limits.maxTimeoutMs + 1 }), 'timeoutMs'],
    ['a priority over the maximum', job({ priority: Priority.max + 1 }), 'priority'],
    ['a step spec over the limit', withStep('MY_STEP', payloadOf(Limits.maxStepSpecBytes + 1)), 'steps.1.spec'],
    ['an argv over the limit', withStep('COMMAND', { argv: Array(Limits.maxArgvLength + 1).fill('a') }), 'steps.1.spec.argv'],
    ['too many AI messages', withStep('AI_ACTION', { messages: Array(Limits.maxAiMessages + 1).fill({ role: 'user', content: 'hi' }) }), 'steps.1.spec.messages'],
  ])('refuses %s', (_, input, path) => {
    const err = refusal(input);
    expect(err.code).toBe('LIMIT_EXCEEDED');
    expect(err.status).toBe(400);
    expect(paths(err)).toContain(path);
  });

  it('accepts a job exactly at the limits', () => {
    const parsed = JobSpec.parse(
      job({ steps: many(Limits.maxStepsPerJob), payload: payloadOf(Limits.maxPayloadBytes), maxAttempts: Limits.maxAttempts }),
    );
    expect(parsed.steps).toHaveLength(Limits.maxStepsPerJob);
    expect(JSON.stringify(parsed.payload).length).toBe(Limits.maxPayloadBytes);
  });

  it('counts payload size in UTF-8 bytes, not characters', () => {
    const chars = Math.floor(Limits.maxPayloadBytes / 3);
    const err = refusal(job({ payload: { s: '€'.repeat(chars) } }));
    expect(err.code).toBe('LIMIT_EXCEEDED');
  });
});

describe('built-in step specs inside a job', () => {
  it.each<[string, string, unknown, string, string]>([
    ['COMMAND without argv or script', 'COMMAND', {}, 'steps.1.spec', 'give exactly one of argv or script'],
    ['COMMAND with both argv and script', 'COMMAND', { argv: ['a'], script: 'a', shell: '/bin/sh' }, 'steps.1.spec', 'give exactly one of argv or script'],
    ['COMMAND script without shell', 'COMMAND', { script: 'make' }, 'steps.1.spec.shell', 'a script needs the shell that runs it'],
    ['COMMAND with an empty argv', 'COMMAND', { argv: [] }, 'steps.1.spec.argv', ''],
    ['COMMAND env with a bad name', 'COMMAND', { argv: ['a'], env: { 'A-B': 'x' } }, 'steps.1.spec.env.A-B', ''],
    ['COMMAND negative kill grace', 'COMMAND', { argv: ['a'], killGraceMs: -1 }, 'steps.1.spec.killGraceMs', ''],
    ['AI_ACTION without messages', 'AI_ACTION', { model: 'm' }, 'steps.1.spec.messages', ''],
    ['AI_ACTION with an unknown role', 'AI_ACTION', { messages: [{ role: 'tool', content: 'x' }] }, 'steps.1.spec.messages.0.role', ''],
    ['AI_ACTION with a non-http base URL', 'AI_ACTION', { baseUrl: 'ftp://x.example', messages: [{ role: 'user', content: 'x' }] }, 'steps.1.spec.baseUrl', ''],
    ['GATE with an unknown kind', 'GATE', { kind: 'vote' }, 'steps.1.spec.kind', ''],
    ['GATE command without argv', 'GATE', { kind: 'command' }, 'steps.1.spec.argv', ''],
    ['ARTIFACT without path', 'ARTIFACT', { name: 'x' }, 'steps.1.spec.path', ''],
    ['ARTIFACT with a name containing "/"', 'ARTIFACT', { path: 'out', name: 'a/b' }, 'steps.1.spec.name', ''],
    ['NOOP with a negative sleep', 'NOOP', { sleepMs: -1 }, 'steps.1.spec.sleepMs', ''],
  ])('refuses %s at its steps.N.spec path', (_, type, spec, path, message) => {
    const err = refusal(withStep(type, spec));
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(paths(err)).toEqual([path]);
    if (message) expect(err.issues[0]!.message).toBe(message);
  });

  it('accepts a valid spec of every built-in type', () => {
    const specs: Record<string, unknown> = {
      COMMAND: { argv: ['make', 'test'], cwd: 'src', env: { CI: '1' }, timeoutMs: 1000, killGraceMs: 500 },
      AI_ACTION: { model: 'gpt', baseUrl: 'https://llm.example/v1', messages: [{ role: 'user', content: 'hi' }], temperature: 0 },
      GATE: { kind: 'approval', prompt: 'ship it?' },
      ARTIFACT: { path: 'dist/app.tar.gz', name: 'app.tar.gz', contentType: 'application/gzip' },
      NOOP: { sleepMs: 0, fail: false },
    };
    for (const [type, spec] of Object.entries(specs)) {
      expect(JobSpec.parse(withStep(type, spec)).steps[1]!.spec, type).toEqual(spec);
    }
  });

  it('parses each spec schema on its own', () => {
    expect(CommandSpec.parse({ script: 'make', shell: '/bin/bash' })).toEqual({ script: 'make', shell: '/bin/bash' });
    expect(AiActionSpec.safeParse({ messages: [] }).success).toBe(false);
    expect(GateSpec.parse({ kind: 'command', argv: ['true'] })).toEqual({ kind: 'command', argv: ['true'] });
    expect(ArtifactSpec.safeParse({ path: '/abs' }).success).toBe(false);
    expect(NoopSpec.parse({})).toEqual({});
  });
});

describe('custom step types', () => {
  it('accepts any JSON object as the spec of an UPPER_SNAKE_CASE type', () => {
    const spec = { chart: 'web', values: { replicas: 3, tags: ['a', null, 1.5] }, dryRun: false };
    expect(JobSpec.parse(withStep('DEPLOY_HELM_2', spec)).steps[1]).toEqual({
      name: 'second',
      phase: 'EXECUTION',
      type: 'DEPLOY_HELM_2',
      spec,
    });
  });

  it('defaults a missing spec to {}', () => {
    const parsed = JobSpec.parse(job({ steps: [{ name: 'x', phase: 'SETUP', type: 'WARM_CACHE' }] }));
    expect(parsed.steps[0]!.spec).toEqual({});
  });

  it.each(['deploy', 'Deploy', '_DEPLOY', '9DEPLOY', 'DEPLOY-HELM', 'D'.repeat(65)])('refuses the type name %j', (type) => {
    expect(paths(refusal(withStep(type, {})))).toEqual(['steps.1.type']);
  });

  it.each([[[]], ['text'], [null], [42]])('refuses a spec that is not an object: %j', (spec) => {
    expect(paths(refusal(withStep('DEPLOY', spec)))).toEqual(['steps.1.spec']);
  });
});

describe('paths stay inside the job directory', () => {
  it.each(['..', '../x', 'a/../../b', 'a/..', '/etc', '/', 'a\\..\\b', '..\\x', ''])('refuses %j as a COMMAND cwd', (cwd) => {
    expect(paths(refusal(withStep('COMMAND', { argv: ['ls'], cwd })))).toEqual(['steps.1.spec.cwd']);
  });

  it.each(['../secrets', '/etc/passwd', 'out/../../x'])('refuses %j as an ARTIFACT path', (path) => {
    expect(paths(refusal(withStep('ARTIFACT', { path })))).toEqual(['steps.1.spec.path']);
  });

  it('refuses ".." as a GATE command cwd', () => {
    expect(paths(refusal(withStep('GATE', { kind: 'command', argv: ['true'], cwd: '..' })))).toEqual(['steps.1.spec.cwd']);
  });

  it.each(['build', 'build/out', './x', 'a..b', '..a', 'a/b../c', '.hidden'])('accepts %j', (cwd) => {
    expect(JobSpec.parse(withStep('COMMAND', { argv: ['ls'], cwd })).steps[1]!.spec).toEqual({ argv: ['ls'], cwd });
    expect(JobSpec.parse(withStep('ARTIFACT', { path: cwd })).steps[1]!.spec).toEqual({ path: cwd });
  });
});

describe('values PostgreSQL cannot store', () => {
  const job = { type: 'x', steps: [{ name: 'a', phase: 'EXECUTION', type: 'NOOP' }] };
  const issues = (input: unknown) => {
    const parsed = JobSpec.safeParse(input);
    return parsed.success ? [] : parsed.error.issues.map((i) => [i.path.join('.'), i.message]);
  };

  it('refuses a NUL or an unpaired surrogate in any string of the job, keys included, naming the field', () => {
    expect(issues({ ...job, type: 'a\u0000b' })).toEqual([['type', 'must not contain the NUL character (U+0000)']]);
    expect(issues({ ...job, payload: { deep: ['ok', { note: 'x\ud800' }] } })).toEqual([['payload.deep.1.note', 'must not contain an unpaired surrogate']]);
    expect(issues({ ...job, payload: { ['k\u0000']: 1 } })).toEqual([['payload.k\u0000', 'its key must not contain the NUL character (U+0000)']]);
    expect(issues({ ...job, steps: [{ name: 'a', phase: 'EXECUTION', type: 'NOOP', spec: { sleepMs: 1 } }], payload: { emoji: '\ud83d\ude00', lone: '\udc00' } }))
      .toEqual([['payload.lone', 'must not contain an unpaired surrogate']]);
  });

  it('takes instants of the years 0001 to 9999 with offsets up to ±15:59 only', () => {
    expect(Instant.safeParse('2030-01-01T00:00:00Z').success).toBe(true);
    expect(Instant.safeParse('0001-01-01T00:00:00-15:59').success).toBe(true);
    expect(Instant.safeParse('0000-01-01T00:00:00Z').error?.issues[0]?.message).toBe('must be in the years 0001 to 9999 (UTC)');
    expect(Instant.safeParse('2030-01-01T00:00:00+16:00').error?.issues[0]?.message).toBe('must have an offset of at most ±15:59');
    expect(issues({ ...job, runAt: '2030-01-01T00:00:00+23:59' })).toEqual([['runAt', 'must have an offset of at most ±15:59']]);
    // The moment counts, not the year as written: the first is in the year 10000, the second in 0000.
    expect(Instant.safeParse('9999-12-31T23:59:59-15:00').error?.issues[0]?.message).toBe('must be in the years 0001 to 9999 (UTC)');
    expect(Instant.safeParse('0001-01-01T00:00:00+01:00').error?.issues[0]?.message).toBe('must be in the years 0001 to 9999 (UTC)');
    expect(Instant.safeParse('9999-12-31T23:59:59+01:00').success).toBe(true);
  });

  it('tells a runAt delayed beyond Limits.maxDelayMs at submission, not in the schema', () => {
    const now = Date.parse('2030-01-01T00:00:00Z');
    expect(runAtTooFar({ runAt: '2030-12-31T00:00:00Z' }, now)).toBeUndefined();
    expect(runAtTooFar({ runAt: '2031-01-02T00:00:00Z' }, now)).toMatch(/at most 365 days ahead/);
    expect(runAtTooFar({}, now)).toBeUndefined();
  });

  it('takes at most Limits.maxEnvVars variables in a COMMAND or a command GATE', () => {
    const env = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, 'x']));
    const command = (n: number) => ({ ...job, steps: [{ name: 'a', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['true'], env: env(n) } }] });
    expect(JobSpec.safeParse(command(Limits.maxEnvVars)).success).toBe(true);
    const over = JobSpec.safeParse(command(Limits.maxEnvVars + 1));
    expect(over.error?.issues.map((i) => i.code)).toContain('too_big');
  });
});
