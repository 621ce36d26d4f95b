import { execFile } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attemptDir, isInside } from './workdir.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'workdir-test-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('attemptDir', () => {
  it('is created on first use and removed whole', async () => {
    const dir = attemptDir(root, 'job', 2);
    expect(dir.path).toBe(join(root, 'job.2', 'work'));
    await expect(stat(dir.path)).rejects.toThrow();
    await dir.ensure();
    await writeFile(join(dir.path, 'f'), 'x');
    await dir.remove();
    await expect(stat(join(root, 'job.2'))).rejects.toThrow();
    await attemptDir(root, 'never', 1).remove();
  });

  it('resolves paths inside the job directory and refuses every way out', async () => {
    const dir = attemptDir(root, 'paths', 1);
    await dir.ensure();
    await mkdir(join(dir.path, 'a'));
    await writeFile(join(dir.path, 'a', 'f'), 'x');
    await symlink('/etc', join(dir.path, 'out'));
    await symlink('a/f', join(dir.path, 'in'));
    expect(await dir.resolve('a/f')).toMatch(/a\/f$/);
    expect(await dir.resolve('in')).toMatch(/a\/f$/);
    expect(await dir.resolve('a/new/deeper', { mustExist: false })).toMatch(/a\/new\/deeper$/);
    for (const bad of ['../x', 'a/../../x', '/etc/passwd', 'out/passwd', 'out']) {
      await expect(dir.resolve(bad, { mustExist: false })).rejects.toMatchObject({ code: 'PATH_ESCAPES_JOB_DIR' });
    }
    await expect(dir.resolve('missing')).rejects.toMatchObject({ code: 'PATH_NOT_FOUND' });
    await dir.remove();
  });

  it.runIf(process.getuid?.() === 0)('gives the job directory, and what the worker makes in it, to the job user only', async () => {
    const owner = { uid: 65_534, gid: 65_534 };
    const dir = attemptDir(root, 'owned', 1, owner);
    expect(dir.owner).toBe(owner);
    await dir.ensure();
    const base = await stat(join(root, 'owned.1'));
    expect([base.uid, base.mode & 0o777]).toEqual([0, 0o711]);
    const work = await stat(dir.path);
    expect([work.uid, work.gid, work.mode & 0o777]).toEqual([65_534, 65_534, 0o700]);
    const meta = await stat(dir.metaPath);
    expect([meta.uid, meta.mode & 0o777]).toEqual([0, 0o711]);

    await mkdir(join(dir.path, 'existing'));
    const made = await dir.makeDir('existing/a/b');
    expect(made).toBe(join(await dir.resolve('existing'), 'a', 'b'));
    expect((await stat(join(dir.path, 'existing'))).uid).toBe(0);
    expect((await stat(join(dir.path, 'existing/a'))).uid).toBe(65_534);
    expect((await stat(made)).uid).toBe(65_534);
    await expect(dir.makeDir('../escape')).rejects.toMatchObject({ code: 'PATH_ESCAPES_JOB_DIR' });

    const script = join(dir.metaPath, 's');
    await writeFile(script, 'echo', { mode: 0o700 });
    await dir.handOver(script, 0o500);
    const s = await lstat(script);
    expect([s.uid, s.mode & 0o777]).toEqual([65_534, 0o500]);
    await dir.remove();
    await expect(stat(join(root, 'owned.1'))).rejects.toThrow();
  });

  it('isInside compares whole path segments', () => {
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/b/c')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a')).toBe(false);
  });
});

describe.runIf(process.getuid?.() === 0)('attemptDir of a worker that is not root', () => {
  it('removes a job directory in which the job left read-only directories', async () => {
    // The worker as nobody, running its jobs as itself: a read-only directory kept its entries
    // from the removal, which failed in silence and left the attempt's directory on the disk.
    const shared = await mkdtemp(join(tmpdir(), 'workdir-nonroot-'));
    await chmod(shared, 0o777);
    try {
      const script = fileURLToPath(new URL('./testing/remove-read-only.ts', import.meta.url));
      const out = await new Promise<string>((resolve, reject) =>
        execFile(process.execPath, ['--import', 'tsx', script, shared], { uid: 65_534, gid: 65_534, cwd: fileURLToPath(new URL('..', import.meta.url)) }, (err, stdout, stderr) =>
          err ? reject(new Error(stderr || err.message)) : resolve(stdout),
        ),
      );
      expect(JSON.parse(out)).toEqual({ gone: true, error: null });
    } finally {
      await rm(shared, { recursive: true, force: true });
    }
  });
});
