import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { connectNats, natsReadinessCheck } from './nats.js';
import { openResources } from './resources.js';
import { runCheck } from './health.js';
import { randomNamespace } from '../../testkit/src/nats.js';

const subject = `${randomNamespace()}.connect.echo`;

const config = loadConfig();
const silent = createLogger({ service: 'test', version: '0', level: 'silent' });

function natsResources(name: string) {
  return openResources().filter((r) => r.kind === 'nats' && r.name.startsWith(`${name} `));
}

/** A logger whose lines can be awaited by message. */
function awaitableLogger() {
  const lines: { msg: string; level: string }[] = [];
  const waiters: { msg: string; resolve: () => void }[] = [];
  const logger = createLogger({
    service: 'test',
    version: '0',
    level: 'debug',
    destination: {
      write: (line: string) => {
        const record = JSON.parse(line) as { msg: string; level: string };
        lines.push(record);
        waiters.filter((w) => w.msg === record.msg).forEach((w) => w.resolve());
      },
    },
  });
  const logged = (msg: string) =>
    lines.some((l) => l.msg === msg) ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ msg, resolve }));
  return { logger, lines, logged };
}

describe('connectNats', () => {
  it('connects to the real server, is tracked while open and released when closed', async () => {
    const nc = await connectNats(config, { name: 'int-connect', logger: silent });
    expect(natsResources('int-connect')).toHaveLength(1);
    const sub = nc.subscribe(subject, {
      callback: (_err, msg) => {
        msg.respond(msg.data);
      },
    });
    const reply = await nc.request(subject, 'ping', { timeout: 5_000 });
    expect(reply.string()).toBe('ping');
    sub.unsubscribe();
    await nc.close();
    expect(natsResources('int-connect')).toHaveLength(0);
  });

  it('is released as well when drained', async () => {
    const nc = await connectNats(config, { name: 'int-drain', logger: silent });
    await nc.drain();
    await nc.closed();
    expect(natsResources('int-drain')).toHaveLength(0);
  });

  it('logs disconnect and reconnect status events', async () => {
    const { logger, lines, logged } = awaitableLogger();
    const nc = await connectNats(config, { name: 'int-status', logger, reconnectWaitMs: 50 });
    await logged('nats connected');
    await nc.reconnect();
    await logged('nats disconnected');
    await logged('nats reconnected');
    const reconnected = lines.find((l) => l.msg === 'nats reconnected') as unknown as Record<string, unknown>;
    expect(reconnected).toMatchObject({ level: 'info', component: 'nats', connection: 'int-status' });
    expect(lines.find((l) => l.msg === 'nats disconnected')?.level).toBe('warn');
    await nc.close();
  });

  it('rejects when the first connection fails, and tracks nothing', async () => {
    const unreachable = { ...config, natsUrl: ['nats://127.0.0.1:1'] };
    await expect(connectNats(unreachable, { name: 'int-refused', logger: silent })).rejects.toThrow();
    expect(natsResources('int-refused')).toHaveLength(0);
  });

  it('names the variable of a credentials file it cannot read', async () => {
    const bad = { ...config, natsCredsFile: '/nonexistent/gantry.creds' };
    await expect(connectNats(bad, { name: 'int-creds', logger: silent })).rejects.toThrow(
      /NATS_CREDS_FILE \/nonexistent\/gantry.creds cannot be read/,
    );
    expect(natsResources('int-creds')).toHaveLength(0);
  });
});

describe('natsReadinessCheck', () => {
  it('passes while the connection is open and fails once closed', async () => {
    const nc = await connectNats(config, { name: 'int-ready', logger: silent });
    const check = natsReadinessCheck(nc);
    expect(await runCheck(check)).toMatchObject({ name: 'nats', ok: true });
    await nc.close();
    expect(await runCheck(check)).toMatchObject({ name: 'nats', ok: false, error: 'nats connection is closed' });
  });
});
