/**
 * With a WORKER_STEP_USER range, an attempt's uid goes back to the pool when the attempt ends
 * (its processes swept, its job directory removed) and is handed to a later attempt, which may
 * belong to another workspace. It was handed out again at once (last in, first out), and what
 * the first job left outside its job directory under that uid (a temporary file in /tmp) was
 * readable by the next job. Now the steps' TMPDIR is the attempt's own, the uid is reused last
 * (first in, first out), and the sweep removes what the uid left in the shared temporary
 * directories.
 */
import { randomBytes } from 'node:crypto';
import { access, rm } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { createJobs, createWorkspace, jobSpec } from '@gantry/testkit';
import { useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();

describe('a step user of a range reused by another workspace', () => {
  it.runIf(process.getuid?.() === 0)('finds nothing the previous job of that uid left in /tmp', async () => {
    const { worker } = await h.startWorker({ settings: { concurrency: 1, stepUsers: { first: { uid: 100_020, gid: 100_020 }, count: 2 } } });
    const secretPath = `/tmp/uid-reuse-${randomBytes(6).toString('hex')}`;
    const look = `id -u; cat ${secretPath} 2>/dev/null || echo CANNOT-READ`;
    try {
      // Workspace 1: a step keeps a private temporary file (mode 0600) outside its job
      // directory, and one in its TMPDIR, which is its attempt's own.
      const a = await h.createJob({
        maxAttempts: 1,
        steps: [{ name: 'tmp', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh -e', script: `umask 077; echo secret-of-workspace-1 > ${secretPath}; echo kept > "$TMPDIR/x"; stat -c %u:%a "$TMPDIR"; id -u` } }],
      });
      expect(await h.run(worker, a.id)).toBe('COMPLETED');
      const [tmpOwner, aUid] = (await h.steps(a.id))[0]!.output_tail!.trim().split('\n');
      expect({ tmpOwner, aUid }).toEqual({ tmpOwner: '100020:700', aUid: '100020' });
      await expect(access(secretPath)).rejects.toMatchObject({ code: 'ENOENT' });

      // Workspace 2, twice on the same worker: the other uid first, then the first one again.
      const other = await createWorkspace(h.pool);
      const uids: string[] = [];
      for (let i = 0; i < 2; i++) {
        const [b] = await createJobs(h.pool, other, 1, { spec: jobSpec({ maxAttempts: 1, steps: [{ name: 'look', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script: look } }] }) });
        expect(await h.run(worker, b!.id)).toBe('COMPLETED');
        const tail = (await h.steps(b!.id))[0]!.output_tail!;
        uids.push(tail.trim().split('\n')[0]!);
        expect(tail).not.toContain('secret-of-workspace-1');
      }
      expect(uids).toEqual(['100021', '100020']);
    } finally {
      await rm(secretPath, { force: true });
    }
  }, 60_000);
});
