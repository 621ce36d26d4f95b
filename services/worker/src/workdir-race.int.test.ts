/**
 * `WorkDir.makeDir` (a COMMAND's or GATE's `cwd`) checked the path, then created it as the worker
 * (root) with a recursive mkdir that follows symbolic links, then lchowned it to the step user
 * along the same path. A process of the attempt still running (a `setsid` process of an earlier
 * step, which leaves the step's reach and lives until the attempt ends, or for ever with one
 * shared user) that swapped a directory of that path for a symbolic link between the check and
 * the mkdir made the worker create a directory anywhere and give it to the step user. Here the
 * swapper is a real process of the step user and the outside directory is root's, mode 0755:
 * nothing the step user may create in. Directories are now made through descriptors.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { attemptDir } from './workdir.js';

const USER = { uid: 100_031, gid: 100_031 };

const SWAPPER = `
const fs = require('node:fs');
const out = process.argv[1];
for (let n = 0; ; n++) {
  try { fs.mkdirSync('a'); } catch {}
  try { fs.renameSync('a', 'old' + n); } catch {}
  try { fs.symlinkSync(out, 'a'); } catch {}
  try { fs.unlinkSync('a'); } catch {}
}
`;

describe('makeDir races a symbolic link swap', () => {
  it.runIf(process.getuid?.() === 0)('never creates (and hands over) a directory outside the job directory', async () => {
    const root = await mkdtemp(join(tmpdir(), 'workdir-race-'));
    await chmod(root, 0o711);
    const outside = await mkdtemp(join(tmpdir(), 'workdir-outside-'));
    await chmod(outside, 0o755);
    const dir = attemptDir(root, 'job', 1, USER);
    const jobDir = await dir.ensure();
    const swapper = spawn(process.execPath, ['-e', SWAPPER, outside], { cwd: jobDir, uid: USER.uid, gid: USER.gid, env: {}, stdio: 'ignore' });
    try {
      let escaped: string[] = [];
      for (let i = 0; i < 1_000 && escaped.length === 0; i++) {
        await dir.makeDir(`a/b${i}`).catch(() => undefined);
        escaped = await readdir(outside);
      }
      const owners = await Promise.all(escaped.map(async (e) => (await stat(join(outside, e))).uid));
      expect({ escaped, owners }).toEqual({ escaped: [], owners: [] });
    } finally {
      swapper.kill('SIGKILL');
      await new Promise((r) => swapper.once('exit', r));
      await rm(root, { recursive: true, force: true });
      await rm(outside, { recursive: true, force: true });
    }
  }, 120_000);
});
