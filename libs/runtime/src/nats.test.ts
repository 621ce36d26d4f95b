import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { DEFAULT_RECONNECT_WAIT_MS, natsConnectionOptions } from './nats.js';

describe('natsConnectionOptions', () => {
  it('reconnects forever with a wait, to every configured server', () => {
    const config = loadConfig({}, { NATS_URL: 'nats://n1:4222,nats://n2:4222' });
    const opts = natsConnectionOptions(config, { name: 'gantry-worker' });
    expect(opts).toMatchObject({
      servers: ['nats://n1:4222', 'nats://n2:4222'],
      name: 'gantry-worker',
      reconnect: true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: DEFAULT_RECONNECT_WAIT_MS,
    });
    expect(opts.tls).toBeUndefined();
  });

  it('asks for TLS with the configured CA, certificate and key files', () => {
    const config = loadConfig(
      {},
      { NATS_TLS_CA_FILE: '/tls/ca.pem', NATS_TLS_CERT_FILE: '/tls/c.pem', NATS_TLS_KEY_FILE: '/tls/k.pem' },
    );
    expect(natsConnectionOptions(config, { name: 'x', reconnectWaitMs: 500 })).toMatchObject({
      reconnectTimeWait: 500,
      tls: { caFile: '/tls/ca.pem', certFile: '/tls/c.pem', keyFile: '/tls/k.pem' },
    });
  });
});
