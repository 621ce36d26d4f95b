/**
 * With a WORKER_STEP_USER range, the end of an attempt kills every process of the attempt's user
 * before its directory is removed (`StepUserPool.sweep`), so that nothing of a job outlives its
 * attempt and shares its uid with the next one. The sweep was one pass: list /proc, then SIGKILL
 * what was listed. A process that keeps forking a successor and exiting (a pid hopper; here
 * started with `setsid`, out of the step's reach) was never where the list said it was, survived
 * the sweep, and went on running as the uid the next attempt, of any workspace, is given. The
 * sweep is now kill(-1) from that uid, which the kernel does in one pass.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, readFile, rm, writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();
const UID = 100_040;

/** Kills every process of `uid` the way the kernel does it atomically: kill(-1) from that uid. */
async function killAllOf(uid: number): Promise<void> {
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => spawn('/bin/kill', ['-9', '-1'], { uid, gid: uid, stdio: 'ignore' }).once('exit', r));
  }
}

const lines = async (path: string) => (await readFile(path, 'utf8')).length;

describe('the sweep of an attempt user', () => {
  it.runIf(process.getuid?.() === 0)('leaves no process of the attempt user running once the attempt ended', async () => {
    const { worker } = await h.startWorker({ settings: { concurrency: 1, stepUsers: { first: { uid: UID, gid: UID }, count: 2 } } });
    // Where the hopper leaves a mark at each hop (pids change too fast for a /proc scan to see it).
    const marks = `/tmp/hop-${randomBytes(6).toString('hex')}`;
    await writeFile(marks, '');
    await chmod(marks, 0o666);
    try {
      const job = await h.createJob({
        maxAttempts: 1,
        steps: [{
          name: 'hop', phase: 'EXECUTION', type: 'COMMAND',
          spec: { shell: '/bin/sh', script: `export H='printf x >> ${marks}; sh -c "$H" &'\nsetsid sh -c "$H" </dev/null >/dev/null 2>&1\nsleep 0.2\n` },
        }],
      });
      expect(await h.run(worker, job.id)).toBe('COMPLETED');
      // The attempt ended: swept, its directory removed, its user given back (to the next attempt).
      const before = await lines(marks);
      await new Promise((r) => setTimeout(r, 1_000));
      const after = await lines(marks);
      expect(before).toBeGreaterThan(0);
      expect({ hopsAfterTheAttemptEnded: after - before }).toEqual({ hopsAfterTheAttemptEnded: 0 });
    } finally {
      await killAllOf(UID);
      await rm(marks, { force: true });
    }
  }, 60_000);
});
