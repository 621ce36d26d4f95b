/**
 * `NATS_URL` accepts `tls://` URLs (config.ts), the scheme that asks for TLS. The NATS client
 * ignores a URL's scheme: TLS is required only when its `tls` option is set, and `connectNats`
 * set it only when a TLS file was configured. So `tls://` alone connected in plaintext to a
 * server that offers no TLS (or through anything that strips it from the server's INFO), and
 * sent the NATS credentials in clear.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { connectNats } from './nats.js';

const silent = createLogger({ service: 'test', version: '0', level: 'silent' });

describe('connectNats with a tls:// URL', () => {
  it('refuses a server that offers no TLS rather than connecting in plaintext', async () => {
    // The test server (127.0.0.1:4222) offers no TLS; the variable is accepted as valid.
    const config = loadConfig({}, { NATS_URL: 'tls://127.0.0.1:4222' });
    expect(config.natsUrl).toEqual(['tls://127.0.0.1:4222']);
    const outcome = await connectNats(config, { name: 'tls-test', logger: silent }).then(
      async (nc) => {
        await nc.close();
        return 'connected in plaintext';
      },
      (err: unknown) => `refused: ${(err as Error).message}`,
    );
    expect(outcome).toBe("refused: server does not support 'tls'");
  });
});
