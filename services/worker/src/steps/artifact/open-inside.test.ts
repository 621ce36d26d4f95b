import { execFile } from 'node:child_process';
import { chown, link, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryInside, openFileInside } from './open-inside.js';

let base: string;
let root: string;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'open-inside-')));
  root = join(base, 'job');
  await mkdir(join(root, 'd'), { recursive: true });
  await mkdir(join(base, 'outside'));
  await writeFile(join(root, 'd', 'f'), 'inside\n');
  await writeFile(join(base, 'outside', 'f'), 'outside\n');
  await symlink(join(base, 'outside'), join(root, 'away'));
  await symlink('d/f', join(root, 'link'));
  await promisify(execFile)('mkfifo', [join(root, 'fifo')]);
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('openFileInside', () => {
  it('opens a regular file inside the root', async () => {
    const handle = await openFileInside(Buffer.from(root), join(root, 'd', 'f'));
    try {
      expect((await handle.readFile()).toString()).toBe('inside\n');
    } finally {
      await handle.close();
    }
  });

  it('refuses a file reached through a directory that leads outside the root, judged on what it opened', async () => {
    await expect(openFileInside(Buffer.from(root), join(root, 'away', 'f'))).rejects.toMatchObject({ code: 'PATH_ESCAPES_JOB_DIR' });
  });

  it('refuses a symbolic link as the last component, and a FIFO without waiting for a writer', async () => {
    await expect(openFileInside(Buffer.from(root), join(root, 'link'))).rejects.toMatchObject({ code: 'NOT_A_FILE' });
    await expect(openFileInside(Buffer.from(root), join(root, 'fifo'))).rejects.toMatchObject({ code: 'NOT_A_FILE' });
  });

  it('does not take a sibling with the root as its prefix for the root', async () => {
    await mkdir(`${root}-x`);
    await writeFile(`${root}-x/f`, 'sibling\n');
    await expect(openFileInside(Buffer.from(root), `${root}-x/f`)).rejects.toMatchObject({ code: 'PATH_ESCAPES_JOB_DIR' });
  });
});

describe('DirectoryInside', () => {
  it('lists and opens its entries, refusing a link where a directory or a file was wanted', async () => {
    const top = await DirectoryInside.open(Buffer.from(root), root);
    try {
      expect((await top.names()).map(String)).toEqual(expect.arrayContaining(['away', 'd', 'link']));
      expect((await top.readlink(Buffer.from('link'))).toString()).toBe('d/f');
      const d = await top.openDirectory(Buffer.from('d'));
      try {
        const f = await d.openFile(Buffer.from('f'));
        expect((await f.readFile()).toString()).toBe('inside\n');
        await f.close();
      } finally {
        await d.close();
      }
      await expect(top.openDirectory(Buffer.from('away'))).rejects.toMatchObject({ code: 'NOT_A_FILE' });
      await expect(top.openFile(Buffer.from('link'))).rejects.toMatchObject({ code: 'NOT_A_FILE' });
      await expect(top.openFile(Buffer.from('fifo'))).rejects.toMatchObject({ code: 'NOT_A_FILE' });
      await expect(top.readlink(Buffer.from('d'))).rejects.toMatchObject({ code: 'NOT_A_FILE' });
    } finally {
      await top.close();
    }
  });

  it('refuses a directory outside the root, judged on what it opened', async () => {
    await expect(DirectoryInside.open(Buffer.from(root), `${join(root, 'away')}/`)).rejects.toMatchObject({ code: 'PATH_ESCAPES_JOB_DIR' });
  });
});

describe('a hard link in the job directory', () => {
  // Another user's file, linked into the job directory, as a job may where fs.protected_hardlinks
  // is off (root makes the link here): the worker, root, would read it for the job.
  it.runIf(process.getuid?.() === 0)('to a file of another user is refused; one to the job’s own file is read', async () => {
    const secret = join(base, 'outside', 'secret');
    await writeFile(secret, 'not the job’s\n');
    await chown(secret, 12345, 12345);
    await link(secret, join(root, 'stolen'));
    await link(join(root, 'd', 'f'), join(root, 'twin'));
    try {
      await expect(openFileInside(Buffer.from(root), join(root, 'stolen'))).rejects.toMatchObject({ code: 'PATH_ESCAPES_JOB_DIR' });
      const top = await DirectoryInside.open(Buffer.from(root), root);
      try {
        await expect(top.openFile(Buffer.from('stolen'))).rejects.toMatchObject({ code: 'PATH_ESCAPES_JOB_DIR' });
        const twin = await top.openFile(Buffer.from('twin'));
        expect((await twin.readFile()).toString()).toBe('inside\n');
        await twin.close();
      } finally {
        await top.close();
      }
    } finally {
      await rm(join(root, 'stolen'));
      await rm(join(root, 'twin'));
    }
  });
});
