import { describe, expect, expectTypeOf, it } from 'vitest';
import { BASE_ENV, ConfigError, camelCase, loadConfig } from './config.js';
import { configTable, describeConfig } from './config-docs.js';
import { envInt, envUrl } from './env.js';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  it('applies every default to an empty environment', () => {
    const config = loadConfig({}, {});
    expect(config).toMatchObject({
      databaseUrl: 'postgres://postgres@127.0.0.1:5432/gantry',
      dbPoolSize: 10,
      natsUrl: ['nats://127.0.0.1:4222'],
      gantryNamespace: 'gantry',
      logLevel: 'info',
      shutdownTimeoutMs: 25_000,
    });
    expect(config.natsUser).toBeUndefined();
  });

  it('parses values and treats an empty variable as unset', () => {
    const config = loadConfig(
      {},
      {
        DB_POOL_SIZE: '20',
        NATS_URL: 'nats://a:4222, nats://b:4222,',
        GANTRY_NAMESPACE: 'team-a',
        LOG_LEVEL: '',
        SHUTDOWN_TIMEOUT_MS: '0',
      },
    );
    expect(config.dbPoolSize).toBe(20);
    expect(config.natsUrl).toEqual(['nats://a:4222', 'nats://b:4222']);
    expect(config.gantryNamespace).toBe('team-a');
    expect(config.logLevel).toBe('info');
    expect(config.shutdownTimeoutMs).toBe(0);
  });

  it('returns a deeply frozen object', () => {
    const config = loadConfig({}, {});
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.natsUrl)).toBe(true);
    expect(() => {
      (config as { dbPoolSize: number }).dbPoolSize = 1;
    }).toThrow(TypeError);
    expect(() => (config.natsUrl as string[]).push('nats://x:1')).toThrow(TypeError);
  });

  it('adds a service’s variables on top of the base, typed and camelCased', () => {
    const shape = {
      METRICS_PORT: envInt({ default: 9090, min: 0, max: 65_535, description: 'Port.' }),
      UPSTREAM_URL: envUrl({ default: 'http://x', protocols: ['http', 'https'], description: 'Up.' }),
    };
    const config = loadConfig(shape, { METRICS_PORT: '0' });
    expect(config.metricsPort).toBe(0);
    expect(config.upstreamUrl).toBe('http://x');
    expect(config.dbPoolSize).toBe(10);
    expectTypeOf(config.metricsPort).toEqualTypeOf<number>();
    expectTypeOf(config.natsUrl).toEqualTypeOf<readonly string[]>();
    expectTypeOf(config.natsPassword).toEqualTypeOf<string | undefined>();
  });

  it('names every bad variable, not just the first', () => {
    const err = configError(() =>
      loadConfig(
        { METRICS_PORT: envInt({ default: 9090, min: 0, max: 65_535, description: 'Port.' }) },
        {
          DATABASE_URL: 'mysql://db/gantry',
          DB_POOL_SIZE: '1.5',
          NATS_URL: 'nats://ok:4222,http://bad',
          GANTRY_NAMESPACE: 'Not-Valid',
          LOG_LEVEL: 'loud',
          SHUTDOWN_TIMEOUT_MS: '-1',
          METRICS_PORT: '70000',
        },
      ),
    );
    expect(err.variables).toEqual([
      'DATABASE_URL',
      'DB_POOL_SIZE',
      'NATS_URL',
      'GANTRY_NAMESPACE',
      'LOG_LEVEL',
      'SHUTDOWN_TIMEOUT_MS',
      'METRICS_PORT',
    ]);
    expect(err.message).toContain('DB_POOL_SIZE: must be a whole number');
    expect(err.message).toContain('NATS_URL: entry 2 must be a nats:// or tls:// URL');
    expect(err.message).toContain('SHUTDOWN_TIMEOUT_MS: must be at least 0');
    expect(err.message).toContain('METRICS_PORT: must be at most 65535');
    expect(err.message).toContain('LOG_LEVEL: must be one of');
  });

  it('reports variables that must go together and conflicting auth, without their values', () => {
    const err = configError(() =>
      loadConfig(
        {},
        {
          NATS_PASSWORD: 'hunter2-secret',
          NATS_TOKEN: 'tok-secret',
          NATS_CREDS_FILE: '/etc/nats/user.creds',
          NATS_TLS_CERT_FILE: '/etc/tls/cert.pem',
          DB_POOL_SIZE: 'many',
        },
      ),
    );
    expect(err.variables).toEqual(
      expect.arrayContaining(['DB_POOL_SIZE', 'NATS_USER', 'NATS_TLS_KEY_FILE', 'NATS_TOKEN', 'NATS_CREDS_FILE']),
    );
    expect(err.message).toContain('NATS_USER: must be set when NATS_PASSWORD is set');
    expect(err.message).toContain('NATS_TLS_KEY_FILE: must be set when NATS_TLS_CERT_FILE is set');
    expect(err.message).toContain('NATS_TOKEN: conflicts with NATS_CREDS_FILE');
    expect(err.message).not.toContain('hunter2-secret');
    expect(err.message).not.toContain('tok-secret');
  });

  it('ignores variables it does not know', () => {
    expect(() => loadConfig({}, { PATH: '/bin', HOME: '/root' })).not.toThrow();
  });
});

describe('camelCase', () => {
  it('keeps units in the property names', () => {
    expect(camelCase('SHUTDOWN_TIMEOUT_MS')).toBe('shutdownTimeoutMs');
    expect(camelCase('NATS_TLS_CA_FILE')).toBe('natsTlsCaFile');
    expect(camelCase('PORT')).toBe('port');
  });
});

describe('describeConfig', () => {
  it('lists every base variable with its default and a description', () => {
    const vars = describeConfig();
    expect(vars.map((v) => v.name)).toEqual(Object.keys(BASE_ENV));
    const byName = Object.fromEntries(vars.map((v) => [v.name, v]));
    expect(byName.DATABASE_URL?.default).toBe('postgres://postgres@127.0.0.1:5432/gantry');
    expect(byName.DB_POOL_SIZE?.default).toBe('10');
    expect(byName.NATS_URL?.default).toBe('nats://127.0.0.1:4222');
    expect(byName.GANTRY_NAMESPACE?.default).toBe('gantry');
    expect(byName.LOG_LEVEL?.default).toBe('info');
    expect(byName.SHUTDOWN_TIMEOUT_MS?.default).toBe('25000');
    expect(byName.NATS_PASSWORD?.default).toBeUndefined();
    for (const v of vars) expect(v.description, v.name).not.toBe('');
  });

  it('appends a service’s variables and renders a Markdown table', () => {
    const vars = describeConfig({ PORT: envInt({ default: 8080, min: 0, max: 65_535, description: 'HTTP port.' }) });
    expect(vars.at(-1)).toEqual({ name: 'PORT', default: '8080', description: 'HTTP port.' });
    const table = configTable(vars);
    expect(table).toContain('| `PORT` | `8080` | HTTP port. |');
    expect(table).toContain('| `NATS_TOKEN` | — |');
    expect(table.split('\n')).toHaveLength(vars.length + 2);
  });
});
