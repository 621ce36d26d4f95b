import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHealthHandlers, DEFAULT_CHECK_TIMEOUT_MS, type ReadinessReport } from './health.js';
import { createMetrics } from './metrics.js';

const pass = { name: 'postgres', check: async () => undefined };
const fail = {
  name: 'nats',
  check: async () => {
    throw new Error('connection refused');
  },
};

function report(body: string): ReadinessReport {
  return JSON.parse(body) as ReadinessReport;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('healthz', () => {
  it('answers 200 without running any check', () => {
    const check = vi.fn(async () => {
      throw new Error('down');
    });
    const answer = createHealthHandlers({ checks: [{ name: 'db', check }] }).healthz();
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ status: 'alive' });
    expect(check).not.toHaveBeenCalled();
  });
});

describe('readyz', () => {
  it('answers 200 with each check’s result when all pass', async () => {
    const answer = await createHealthHandlers({ checks: [pass, { ...pass, name: 'nats' }] }).readyz();
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toMatch(/application\/json/);
    const body = report(answer.body);
    expect(body.status).toBe('ready');
    expect(body.checks.map((c) => [c.name, c.ok])).toEqual([
      ['postgres', true],
      ['nats', true],
    ]);
  });

  it('answers 503 naming the failing check and its error', async () => {
    const answer = await createHealthHandlers({ checks: [pass, fail] }).readyz();
    expect(answer.status).toBe(503);
    const body = report(answer.body);
    expect(body.status).toBe('not ready');
    expect(body.checks).toEqual([
      expect.objectContaining({ name: 'postgres', ok: true }),
      expect.objectContaining({ name: 'nats', ok: false, error: 'connection refused' }),
    ]);
  });

  it('on a public port, keeps a failed check’s error out of the answer and hands it to reportErrors', async () => {
    const reported: ReadinessReport[] = [];
    const secretive = { name: 'postgres', check: async () => { throw new Error('password authentication failed for user "gantry" at 10.0.3.4:5432'); } };
    const answer = await createHealthHandlers({ checks: [pass, secretive], reportErrors: (r) => void reported.push(r) }).readyz();
    expect(answer.status).toBe(503);
    expect(answer.body).not.toContain('10.0.3.4');
    expect(report(answer.body)).toMatchObject({ status: 'not ready', checks: [{ name: 'postgres', ok: true }, { name: 'postgres', ok: false }] });
    expect(report(answer.body).checks[1]).not.toHaveProperty('error');
    expect(reported[0]!.checks[1]!.error).toMatch(/10\.0\.3\.4/);
  });

  it('treats a check that throws synchronously as failed', async () => {
    const sync = {
      name: 'sync',
      check: (() => {
        throw new Error('boom');
      }) as () => Promise<void>,
    };
    const answer = await createHealthHandlers({ checks: [sync] }).readyz();
    expect(answer.status).toBe(503);
    expect(report(answer.body).checks[0]).toMatchObject({ ok: false, error: 'boom' });
  });

  it('fails a hanging check at its timeout and aborts its signal', async () => {
    vi.useFakeTimers();
    let seen: AbortSignal | undefined;
    const hanging = {
      name: 'hangs',
      timeoutMs: 500,
      check: (signal: AbortSignal) => {
        seen = signal;
        return new Promise<void>(() => undefined);
      },
    };
    const pending = createHealthHandlers({ checks: [pass, hanging] }).readyz();
    await vi.advanceTimersByTimeAsync(499);
    expect(seen?.aborted).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const answer = await pending;
    expect(answer.status).toBe(503);
    expect(report(answer.body).checks[1]).toMatchObject({ name: 'hangs', ok: false, error: 'timed out after 500 ms' });
    expect(seen?.aborted).toBe(true);
  });

  it('uses the default timeout when a check names none', async () => {
    vi.useFakeTimers();
    const pending = createHealthHandlers({ checks: [{ name: 'h', check: () => new Promise(() => undefined) }] }).readyz();
    await vi.advanceTimersByTimeAsync(DEFAULT_CHECK_TIMEOUT_MS);
    expect((await pending).status).toBe(503);
  });

  it('is ready with no checks at all', async () => {
    expect((await createHealthHandlers({}).readyz()).status).toBe(200);
  });
});

describe('metrics', () => {
  it('renders the registry with its content type', async () => {
    const metrics = createMetrics({ service: 'worker', version: '1', defaultMetrics: false });
    const answer = await createHealthHandlers({ metrics }).metrics();
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe(metrics.contentType);
    expect(answer.body).toContain('gantry_service_info{service="worker",version="1"} 1');
  });

  it('answers 404 when the service has no registry', async () => {
    expect((await createHealthHandlers({}).metrics()).status).toBe(404);
  });
});
