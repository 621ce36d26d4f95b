import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { COMMANDS, EXIT, runCli } from './cli.js';
import { recordingIo } from './testing.js';

describe('runCli', () => {
  it('lists every command, the environment and the exit codes on help (stdout), and on no arguments (stderr, exit 2)', async () => {
    const io = recordingIo({});
    expect(await runCli(['help'], io)).toBe(EXIT.ok);
    for (const c of COMMANDS) expect(io.stdout.join('\n')).toContain(c.usage);
    expect(io.stdout.join('\n')).toMatch(/GANTRY_TOKEN[\s\S]*exit codes:[\s\S]*4 authentication refused/);
    const bare = recordingIo({});
    expect(await runCli([], bare)).toBe(EXIT.usage);
    expect(bare.stderr.join('\n')).toContain('usage: gantry <command>');
  });

  it('answers --help on every command, without running it', async () => {
    for (const c of COMMANDS) {
      const io = recordingIo({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none', GANTRY_URL: 'http://127.0.0.1:1' });
      expect(await runCli([...c.words, '--help'], io)).toBe(EXIT.ok);
      expect(io.stdout[0]).toBe(`usage: gantry ${c.usage}`);
      expect(io.stdout.join('\n')).toContain(c.summary);
      expect(io.stderr).toEqual([]);
    }
    const help = recordingIo({});
    expect(await runCli(['help', 'submit'], help)).toBe(EXIT.ok);
    expect(help.stdout.join('\n')).toContain('--dry-run');
  });

  it('lists a group’s commands for `gantry dead-letters` and an unknown member', async () => {
    const io = recordingIo({});
    expect(await runCli(['dead-letters', 'purge'], io)).toBe(EXIT.usage);
    expect(io.stderr.join('\n')).toMatch(/unknown command "dead-letters purge"[\s\S]*dead-letters list[\s\S]*dead-letters replay/);
    expect(await runCli(['token', '--help'], recordingIo({}))).toBe(EXIT.ok);
  });

  it('refuses API commands without a token or with a bad URL as configuration errors (2), and says what to set', async () => {
    const none = recordingIo({});
    expect(await runCli(['list'], none)).toBe(EXIT.usage);
    expect(none.stderr).toEqual(['error: no API token: set GANTRY_TOKEN or pass --token (`gantry token create` makes one)']);
    const badUrl = recordingIo({ GANTRY_TOKEN: 't', GANTRY_URL: 'ftp://x' });
    expect(await runCli(['queue'], badUrl)).toBe(EXIT.usage);
    expect(await runCli(['get'], recordingIo({ GANTRY_TOKEN: 't' }))).toBe(EXIT.usage);
    expect(await runCli(['list', '--status', 'DONE'], recordingIo({ GANTRY_TOKEN: 't' }))).toBe(EXIT.usage);
    expect(await runCli(['dead-letters', 'replay'], recordingIo({}))).toBe(EXIT.usage);
  });

  it('refuses a job id that is not a UUID before any request (`.` would have named the bulk cancel), and an API URL with a password, without showing it', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests += 1;
      res.writeHead(500).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const argv of [['cancel', '.'], ['get', '..'], ['retry', 'nope'], ['approve', '../x', 'gate']]) {
        const io = recordingIo({ GANTRY_TOKEN: 't', GANTRY_URL: url });
        expect(await runCli(argv, io), argv.join(' ')).toBe(EXIT.usage);
        expect(io.stderr[0]).toMatch(/is not a job id/);
      }
      expect(requests).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
    const withPassword = recordingIo({ GANTRY_TOKEN: 't', GANTRY_URL: 'http://admin:s3cret@127.0.0.1:1' });
    expect(await runCli(['workers'], withPassword)).toBe(EXIT.usage);
    expect(withPassword.stderr.join('\n')).toMatch(/must not hold a user or password \(http:\/\/127\.0\.0\.1:1\)/);
    expect(withPassword.stderr.join('\n')).not.toContain('s3cret');
  });

  it('reports an API that cannot be reached with exit code 5', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise((r) => closed.close(r));
    const io = recordingIo({ GANTRY_TOKEN: 't', GANTRY_URL: url });
    expect(await runCli(['workers'], io)).toBe(EXIT.unavailable);
    expect(io.stderr).toEqual([`error: cannot reach the API at ${url} (ECONNREFUSED); set GANTRY_URL or --url`]);
  });

  it('answers an unknown command and a bad call with exit code 2 and the usage, before touching a database', async () => {
    const io = recordingIo({ DATABASE_URL: 'postgres://nobody@127.0.0.1:1/none' });
    expect(await runCli(['workspace', 'destroy'], io)).toBe(EXIT.usage);
    expect(await runCli(['token', 'create', '--scopes', 'jobs:read'], io)).toBe(EXIT.usage);
    expect(await runCli(['token', 'create', '--workspace', 'a', '--scopes', 'jobs:everything'], io)).toBe(EXIT.usage);
    expect(await runCli(['token', 'create', '--workspace', 'a', '--scopes', 'jobs:read', '--expires-in', '1d', '--expires-at', '2099-01-01T00:00:00Z'], io)).toBe(EXIT.usage);
    expect(await runCli(['workspace', 'create', 'Not Valid'], io)).toBe(EXIT.usage);
    expect(await runCli(['workspace', 'create', 'ok', '--max-running-jobs', '0'], io)).toBe(EXIT.usage);
    expect(io.stdout).toEqual([]);
    expect(io.stderr.filter((l) => l.startsWith('error:'))).toHaveLength(6);
    expect(io.stderr.join('\n')).toContain('usage: gantry token create');
  });

  it('reports a bad environment as a usage error', async () => {
    const io = recordingIo({ DATABASE_URL: 'mysql://x' });
    expect(await runCli(['workspace', 'list'], io)).toBe(EXIT.usage);
    expect(io.stderr.join('\n')).toContain('DATABASE_URL');
  });
});
