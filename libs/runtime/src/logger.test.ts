import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { createLogger, loggableConfig, REDACTED, redactUrl, URL_CREDENTIAL_MASK } from './logger.js';

function capture(level: 'info' | 'debug' = 'info') {
  const lines: string[] = [];
  const logger = createLogger({ service: 'worker', version: '1.2.3', level, destination: { write: (s: string) => void lines.push(s) } });
  const records = () => lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  return { logger, lines, records };
}

describe('createLogger', () => {
  it('writes JSON lines with service, version, a level label and an ISO time', () => {
    const { logger, records } = capture();
    logger.info({ jobId: 'j1' }, 'claimed');
    logger.debug('not written at info');
    const [record, ...rest] = records();
    expect(rest).toHaveLength(0);
    expect(record).toMatchObject({ service: 'worker', version: '1.2.3', level: 'info', msg: 'claimed', jobId: 'j1' });
    expect(new Date(String(record?.time)).toISOString()).toBe(record?.time);
  });

  it('keeps the base fields on child loggers', () => {
    const { logger, records } = capture();
    logger.child({ jobId: 'j2', attempt: 1 }).warn('slow');
    expect(records()[0]).toMatchObject({ service: 'worker', version: '1.2.3', jobId: 'j2', attempt: 1, level: 'warn' });
  });

  it('redacts authorization headers, tokens, passwords, API keys and NATS credentials', () => {
    const { logger, lines, records } = capture();
    logger.info(
      {
        req: { method: 'GET', headers: { authorization: 'Bearer sekret-1', 'gantry-token': 'sekret-2', accept: 'json' } },
        headers: { authorization: 'Basic sekret-3' },
        password: 'sekret-4',
        token: 'sekret-5',
        apiKey: 'sekret-6',
        nats: { pass: 'sekret-7', creds: 'sekret-8', seed: 'sekret-9', user: 'alice' },
        config: { natsPassword: 'sekret-10', natsToken: 'sekret-11', dbPoolSize: 10 },
      },
      'request',
    );
    const output = lines.join('');
    for (let i = 1; i <= 11; i += 1) expect(output).not.toContain(`sekret-${i}`);
    const record = records()[0] as {
      req: { headers: Record<string, string> };
      nats: Record<string, string>;
      config: Record<string, unknown>;
      apiKey: string;
    };
    expect(record.req.headers.authorization).toBe(REDACTED);
    expect(record.req.headers.accept).toBe('json');
    expect(record.nats.user).toBe('alice');
    expect(record.config.dbPoolSize).toBe(10);
    expect(record.apiKey).toBe(REDACTED);
  });
});

describe('redactUrl', () => {
  it('masks secrets passed as query parameters', () => {
    const out = redactUrl('postgres://db:5432/gantry?user=g&password=pa55&sslpassword=k3y&sslmode=require');
    expect(out).not.toContain('pa55');
    expect(out).not.toContain('k3y');
    expect(out).toContain('sslmode=require');
    expect(out).toContain('user=g');
  });

  it('removes the user name and password from a URL', () => {
    expect(redactUrl('postgres://gantry:pa55@db:5432/gantry')).toBe(
      `postgres://${URL_CREDENTIAL_MASK}:${URL_CREDENTIAL_MASK}@db:5432/gantry`,
    );
    expect(redactUrl('nats://tok3n@nats:4222')).not.toContain('tok3n');
  });

  it('handles a comma-separated list and leaves URLs without credentials alone', () => {
    const out = redactUrl('nats://a:b@n1:4222, nats://n2:4222');
    expect(out).not.toMatch(/a:b@/);
    expect(out).toContain(', nats://n2:4222');
    expect(redactUrl('postgres://postgres@127.0.0.1:5432/gantry')).not.toContain('postgres@');
    expect(redactUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
    expect(redactUrl('not a url')).toBe('not a url');
  });
});

describe('loggableConfig', () => {
  it('makes a parsed configuration safe to log', () => {
    const config = loadConfig(
      {},
      {
        DATABASE_URL: 'postgres://gantry:db-secret@db:5432/gantry',
        NATS_URL: 'nats://u:nats-secret@n1:4222,nats://n2:4222',
        NATS_USER: 'alice',
        NATS_PASSWORD: 'pw-secret',
      },
    );
    const { logger, lines } = capture();
    logger.info({ config: loggableConfig(config) }, 'configuration');
    const output = lines.join('');
    for (const secret of ['db-secret', 'nats-secret', 'pw-secret']) expect(output).not.toContain(secret);
    expect(output).toContain('"natsUser":"alice"');
    expect(output).toContain('nats://n2:4222');
    expect(output).toContain('"dbPoolSize":10');
  });

  it('hides keys: the command signing key, an API key; a key file’s path shows', () => {
    const { logger, lines } = capture();
    logger.info({ config: loggableConfig({ commandSigningKey: 'signing-secret-0123456789abcdef0123', aiApiKey: 'ai-secret', natsTlsKeyFile: '/etc/tls/key.pem' }) }, 'configuration');
    const output = lines.join('');
    for (const secret of ['signing-secret', 'ai-secret']) expect(output).not.toContain(secret);
    expect(output).toContain('/etc/tls/key.pem');
  });

  it('keeps paths of secret files, which are not secrets', () => {
    const safe = loggableConfig({ natsCredsFile: '/etc/nats/u.creds', natsToken: 't', natsNkeySeedFile: '/s' });
    expect(safe).toEqual({ natsCredsFile: '/etc/nats/u.creds', natsToken: REDACTED, natsNkeySeedFile: '/s' });
  });
});
