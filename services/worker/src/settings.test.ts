import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, loggableConfig } from '@gantry/runtime';
import { WORKER_ENV } from './config.js';
import { inheritedEnv, loadWorkerSettings } from './settings.js';

describe('worker settings', () => {
  it('has defaults for everything', () => {
    const s = loadWorkerSettings({ PATH: '/bin' });
    expect(s).toMatchObject({ pool: 'default', concurrency: 8, workDir: '/tmp/gantry-jobs', killGraceMs: 5_000, commandEnv: { PATH: '/bin' } });
    expect(s.workerId).toMatch(/^[A-Za-z0-9_-]+-\d+-[0-9a-f]{8}$/);
    expect(s.ai).toMatchObject({ baseUrl: 'https://api.openai.com/v1', apiKey: undefined, keysBySecret: {} });
    expect(Object.isFrozen(s)).toBe(true);
  });

  it('parses the AI key secrets without ever echoing them, and redacts keys in logs', () => {
    const env = { AI_API_KEY: 'sk-1', AI_API_KEY_BY_SECRET: '{"ws/a":"k-a","*/b":"k-b"}' };
    expect(loadWorkerSettings(env).ai.keysBySecret).toEqual({ 'ws/a': 'k-a', '*/b': 'k-b' });
    const logged = JSON.stringify(loggableConfig(loadConfig(WORKER_ENV, env)));
    expect(logged).not.toContain('sk-1');
    expect(logged).not.toContain('k-a');
    for (const bad of ['{nope', '["x"]', '{"noslash":"k"}', '{"ws/a":""}']) {
      try {
        loadWorkerSettings({ AI_API_KEY_BY_SECRET: bad });
        expect.unreachable();
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        expect((err as ConfigError).variables).toEqual(['AI_API_KEY_BY_SECRET']);
        expect((err as Error).message).not.toContain('"k"');
      }
    }
  });

  it("passes only allowlisted variables to jobs, never the worker's own", () => {
    const env = { PATH: '/bin', LANG: 'C', DATABASE_URL: 'postgres://secret', OTHER: 'x', EMPTY: '' };
    expect(inheritedEnv(['PATH', 'LANG', 'EMPTY', 'MISSING'], env)).toEqual({ PATH: '/bin', LANG: 'C' });
    expect(() => inheritedEnv(['PATH', 'DATABASE_URL'], env)).toThrow(ConfigError);
    expect(() => loadWorkerSettings({ WORKER_COMMAND_ENV: 'PATH,AI_API_KEY' })).toThrow(/AI_API_KEY/);
    expect(() => loadWorkerSettings({ WORKER_COMMAND_ENV: 'PATH;rm' })).toThrow(ConfigError);
  });

  it('needs a step user for every ordinary and express slot when WORKER_STEP_USER is a range', () => {
    const root = 0;
    expect(loadWorkerSettings({ WORKER_CONCURRENCY: '2', WORKER_EXPRESS_SLOTS: '2', WORKER_STEP_USER: '2000-2003' }, root)).toMatchObject({ concurrency: 2, expressSlots: 2 });
    expect(() => loadWorkerSettings({ WORKER_CONCURRENCY: '2', WORKER_EXPRESS_SLOTS: '3', WORKER_STEP_USER: '2000-2003' }, root)).toThrow(
      /4 users and WORKER_CONCURRENCY and WORKER_EXPRESS_SLOTS are 2 \+ 3/,
    );
    expect(loadWorkerSettings({}).expressSlots).toBe(0);
  });
});
