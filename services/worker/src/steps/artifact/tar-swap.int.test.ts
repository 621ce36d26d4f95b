/**
 * A directory artifact walked while a process of the job swaps a directory inside it for a
 * symbolic link to a directory outside the job, over and over (renameat2 with RENAME_EXCHANGE).
 * A walk by path listed the other side's names and link targets whenever it read the directory
 * at the wrong moment; a walk through descriptors lists only what is inside the tree it opened.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { lstat, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tarDirectory } from './tar.js';

let base: string;
let root: string;
let swapper: ChildProcess | undefined;

beforeAll(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'tar-swap-')));
  root = join(base, 'job');
  await mkdir(join(root, 'art', 'd'), { recursive: true });
  await writeFile(join(root, 'art', 'd', 'public'), 'public\n');
  await mkdir(join(base, 'secret'));
  await writeFile(join(base, 'secret', 'SECRET-NAME'), 'secret\n');
  await symlink('SECRET-TARGET', join(base, 'secret', 'link'));
  await symlink(join(base, 'secret'), join(root, 'art', 'other'));
});
afterAll(async () => {
  swapper?.kill('SIGKILL');
  await rm(base, { recursive: true, force: true });
});

describe('tarDirectory while a directory in it is swapped for a link', () => {
  // syscall 316 is renameat2 on x86-64.
  it.runIf(process.arch === 'x64')('archives no name or link target from outside the tree it opened', async () => {
    const loop = `my ($a, $b) = ("d", "other"); while (1) { syscall(316, -100, $a, -100, $b, 2); }`;
    swapper = spawn('perl', ['-e', loop], { cwd: join(root, 'art'), stdio: 'ignore' });
    // Swapping has begun once "d" has been seen as the link.
    while (!(await lstat(join(root, 'art', 'd'))).isSymbolicLink()) await new Promise((r) => setTimeout(r, 5));
    const leaks: string[] = [];
    const refusals: string[] = [];
    let archived = 0;
    for (let i = 0; i < 300; i++) {
      const chunks: Buffer[] = [];
      try {
        for await (const chunk of tarDirectory(join(root, 'art'), Buffer.from(root))) chunks.push(chunk);
        archived += 1;
      } catch (err) {
        refusals.push((err as { code?: string }).code ?? String(err));
      }
      const bytes = Buffer.concat(chunks).toString('latin1');
      for (const secret of ['SECRET-NAME', 'SECRET-TARGET']) if (bytes.includes(secret)) leaks.push(secret);
    }
    expect(leaks).toEqual([]);
    // The swap was seen (some walks met the link where the directory was) and some walks ended.
    expect(refusals.length).toBeGreaterThan(0);
    expect(new Set(refusals)).toEqual(new Set(['NOT_A_FILE']));
    expect(archived).toBeGreaterThan(0);
  }, 60_000);
});
