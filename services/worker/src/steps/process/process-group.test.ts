import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alive } from '../../testing/processes.js';
import { exitCodeOf, ProcessGroups, spawnGroup } from './process-group.js';

function start(argv: string[], groups = new ProcessGroups()) {
  let out = '';
  const proc = spawnGroup(argv, { cwd: '/', env: { PATH: '/usr/bin:/bin' }, killGraceMs: 200, groups, onOutput: (_s, b) => (out += b.toString()) });
  return { proc, output: () => out, groups };
}

/** Waits (up to 10 s) for `pid` to die: a signal is delivered at once but acted on when scheduled. */
async function dies(pid: number): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  while (await alive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

describe('spawnGroup', () => {
  it('runs an argv without a shell and reports its exit code', async () => {
    const { proc, output } = start(['/bin/echo', '$HOME', 'a b']);
    expect(await proc.done).toMatchObject({ code: 0, signal: null });
    expect(output()).toBe('$HOME a b\n');
    expect(exitCodeOf((await start(['/bin/sh', '-c', 'exit 7']).proc.done))).toBe(7);
  });

  it('terminates the leftovers of a command that exited', async () => {
    const { proc, output } = start(['/bin/sh', '-c', 'sleep 300 & echo $!']);
    const exit = await proc.done;
    expect(exit.code).toBe(0);
    const pid = Number(output().trim());
    expect(await dies(pid)).toBe(true);
  });

  it('is done only once a leftover that let go of the pipes and ignores SIGTERM is gone', async () => {
    // The leftover redirects its output, so the pipes close when the shell exits; it ignores
    // SIGTERM, so only the SIGKILL after the grace (200 ms here) ends it.
    const { proc, output } = start(['/bin/sh', '-c', `(trap "" TERM; exec sleep 30) >/dev/null 2>&1 & echo $!; exit 0`]);
    const exit = await proc.done;
    expect(exit.code).toBe(0);
    const pid = Number(output().trim());
    expect(await alive(pid)).toBe(false);
  });

  it('is done only once a leftover in another group of its session is gone, too', async () => {
    // A process group of its own, in the command's session, ignoring SIGTERM (perl: no job
    // control in a shell without a terminal).
    const { proc, output } = start(['/bin/sh', '-c', `perl -e 'setpgrp(0, 0); $SIG{TERM} = "IGNORE"; exec "sleep", "30"' >/dev/null 2>&1 & echo $!; sleep 0.1; exit 0`]);
    const exit = await proc.done;
    expect(exit.code).toBe(0);
    const pid = Number(output().trim());
    expect(await alive(pid)).toBe(false);
  });

  it('terminates the whole group, escalating to SIGKILL', async () => {
    const { proc, output } = start(['/bin/sh', '-c', `sh -c 'trap "" TERM; exec sleep 300' & echo $!; wait`]);
    while (!output().includes('\n')) await new Promise((r) => setImmediate(r));
    const child = Number(output().trim());
    proc.terminate(200);
    const exit = await proc.done;
    expect(exit.signal).toBe('SIGTERM');
    expect(exitCodeOf(exit)).toBe(143);
    expect(await dies(child)).toBe(true);
  });

  it('reports a command that cannot start', async () => {
    const exit = await start(['/no/such/binary']).proc.done;
    expect(exit.spawnError).toBeInstanceOf(Error);
    expect(exitCodeOf(exit)).toBeNull();
  });

  it('reports a spawn that found no file descriptor left as a failed start, without ending the process', async () => {
    const script = fileURLToPath(new URL('../../testing/spawn-out-of-fds.ts', import.meta.url));
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile('/bin/bash', ['-c', 'ulimit -n 256 && exec "$0" --import tsx "$1"', process.execPath, script], (err, out, errOut) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout: out, stderr: errOut }),
      );
    });
    expect(code, stderr).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ pid: null, spawnError: expect.stringMatching(/^E(M|N)FILE$/) as unknown });
  });
});
