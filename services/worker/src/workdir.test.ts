import { mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

  it('isInside compares whole path segments', () => {
    expect(isInside('/a/b', '/a/b')).toBe(true);
    expect(isInside('/a/b', '/a/b/c')).toBe(true);
    expect(isInside('/a/b', '/a/bc')).toBe(false);
    expect(isInside('/a/b', '/a')).toBe(false);
  });
});
