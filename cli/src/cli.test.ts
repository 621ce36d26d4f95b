import { describe, expect, it } from 'vitest';
import { COMMANDS, EXIT, runCli } from './cli.js';
import { recordingIo } from './testing.js';

describe('runCli', () => {
  it('lists every command on help', async () => {
    const io = recordingIo({});
    expect(await runCli(['help'], io)).toBe(EXIT.ok);
    for (const c of COMMANDS) expect(io.stderr.join('\n')).toContain(c.usage);
    expect(await runCli([], recordingIo({}))).toBe(EXIT.usage);
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
