import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readlink, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_ARCHIVE_DEPTH, paxRecord, tarDirectory } from './tar.js';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tar-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('paxRecord', () => {
  it('counts its own length, digits included', () => {
    for (const value of ['a', 'x'.repeat(90), 'y'.repeat(991), 'é'.repeat(400)]) {
      const record = paxRecord('path', value);
      expect(Number(record.slice(0, record.indexOf(' ')))).toBe(Buffer.byteLength(record));
    }
  });
});

describe('tarDirectory', () => {
  it('archives files, directories, long names and symbolic links that tar extracts as they were', async () => {
    const src = join(dir, 'src');
    const long = `${'n'.repeat(120)}/${'m'.repeat(120)}`;
    await mkdir(join(src, 'sub', long), { recursive: true });
    await writeFile(join(src, 'a.txt'), 'alpha\n');
    await writeFile(join(src, 'sub', 'empty'), '');
    await writeFile(join(src, 'sub', long, 'ünïcode-and-a-rather-long-file-name-that-goes-on-and-on-and-on-and-on-and-on-and-on.bin'), Buffer.alloc(1025, 7));
    await symlink('a.txt', join(src, 'link'));
    const chunks: Buffer[] = [];
    for await (const c of tarDirectory(src, Buffer.from(await realpath(dir)))) chunks.push(c);
    const archive = Buffer.concat(chunks);
    expect(archive.length % 512).toBe(0);
    const out = join(dir, 'out');
    await mkdir(out);
    await writeFile(join(dir, 'a.tar'), archive);
    await run('tar', ['-xf', join(dir, 'a.tar')], { cwd: out });
    expect(await readFile(join(out, 'a.txt'), 'utf8')).toBe('alpha\n');
    expect(await readFile(join(out, 'sub', 'empty'), 'utf8')).toBe('');
    expect(await readFile(join(out, 'sub', long, 'ünïcode-and-a-rather-long-file-name-that-goes-on-and-on-and-on-and-on-and-on-and-on.bin'))).toEqual(Buffer.alloc(1025, 7));
    expect(await readlink(join(out, 'link'))).toBe('a.txt');
    const { stdout } = await run('tar', ['-tf', join(dir, 'a.tar')]);
    expect(stdout.split('\n').filter(Boolean)[0]).toBe('a.txt');
  });

  it('archives names that are not UTF-8 as the bytes they are, short and long', async () => {
    const src = join(dir, 'bytes');
    await mkdir(src);
    const short = Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x2e, 0x74, 0x78, 0x74]); // "caf\xe9.txt" in Latin-1
    const long = Buffer.concat([Buffer.from('l'.repeat(150)), Buffer.from([0xff, 0xfe])]);
    await writeFile(Buffer.concat([Buffer.from(`${src}/`), short]), 'latin\n');
    await writeFile(Buffer.concat([Buffer.from(`${src}/`), long]), 'long\n');
    const chunks: Buffer[] = [];
    for await (const c of tarDirectory(src, Buffer.from(await realpath(dir)))) chunks.push(c);
    const out = join(dir, 'bytes-out');
    await mkdir(out);
    await writeFile(join(dir, 'bytes.tar'), Buffer.concat(chunks));
    await run('tar', ['-xf', join(dir, 'bytes.tar')], { cwd: out });
    expect((await readFile(Buffer.concat([Buffer.from(`${out}/`), short]))).toString()).toBe('latin\n');
    expect((await readFile(Buffer.concat([Buffer.from(`${out}/`), long]))).toString()).toBe('long\n');
  });

  it('refuses directories nested deeper than MAX_ARCHIVE_DEPTH, which hold a descriptor each', async () => {
    const src = join(dir, 'deep');
    const fits = join(src, ...Array.from({ length: MAX_ARCHIVE_DEPTH - 1 }, () => 'd'));
    await mkdir(fits, { recursive: true });
    const read = async () => {
      for await (const c of tarDirectory(src, Buffer.from(await realpath(dir)))) void c;
    };
    await expect(read()).resolves.toBeUndefined();
    await mkdir(join(fits, 'd'));
    await expect(read()).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED', message: expect.stringMatching(/nests more than 256 levels deep/) as unknown });
  });
});
