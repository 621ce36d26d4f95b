/**
 * A streaming POSIX tar (ustar, with pax extended headers for long names and large sizes) of
 * a directory, so that a directory artifact is one object. Entries are sorted by name; regular
 * files, directories and symbolic links (stored as links, never followed) are archived; other
 * file types (sockets, devices, fifos) are left out. Owners are stored as 0/root.
 *
 * Names are bytes, as the file system keeps them: a name that is not UTF-8 is archived as it
 * is (in a pax header, with `hdrcharset=BINARY`). The directory is opened once and walked
 * through descriptors ({@link DirectoryInside}): every name, link target and file in the archive
 * is from the tree that was opened, inside the job directory, whatever the job's processes
 * rename meanwhile.
 */
import type { FileHandle } from 'node:fs/promises';
import { UnrecoverableError } from '../../engine/job-control.js';
import { DirectoryInside } from './open-inside.js';

const BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777;

function field(buf: Buffer, offset: number, length: number, value: string | Buffer): void {
  (typeof value === 'string' ? Buffer.from(value, 'utf8') : value).copy(buf, offset, 0, length);
}

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  field(buf, offset, length, `${Math.max(0, Math.floor(value)).toString(8).padStart(length - 1, '0')}\0`);
}

const SLASH = 0x2f;
const EMPTY = Buffer.alloc(0);

/** Splits a long path into ustar's prefix and name fields, if it fits them. */
function splitPath(path: Buffer): [prefix: Buffer, name: Buffer] | undefined {
  if (path.length <= 100) return [EMPTY, path];
  for (let i = path.indexOf(SLASH); i !== -1; i = path.indexOf(SLASH, i + 1)) {
    const prefix = path.subarray(0, i);
    const name = path.subarray(i + 1);
    if (prefix.length <= 155 && name.length <= 100 && name.length > 0) return [prefix, name];
  }
  return undefined;
}

interface Entry {
  readonly path: Buffer;
  readonly type: '0' | '2' | '5' | 'x';
  readonly size: number;
  readonly mode: number;
  readonly mtimeSec: number;
  readonly linkname?: Buffer;
}

function header(e: Entry, prefix: Buffer, name: Buffer, size: number, linkname: Buffer): Buffer {
  const buf = Buffer.alloc(BLOCK);
  field(buf, 0, 100, name);
  octal(buf, 100, 8, e.mode & 0o7777);
  octal(buf, 108, 8, 0);
  octal(buf, 116, 8, 0);
  octal(buf, 124, 12, size);
  octal(buf, 136, 12, e.mtimeSec);
  buf.fill(0x20, 148, 156);
  field(buf, 156, 1, e.type);
  field(buf, 157, 100, linkname);
  field(buf, 257, 6, 'ustar\0');
  field(buf, 263, 2, '00');
  field(buf, 265, 32, 'root');
  field(buf, 297, 32, 'root');
  field(buf, 345, 155, prefix);
  let sum = 0;
  for (const byte of buf) sum += byte;
  field(buf, 148, 8, `${sum.toString(8).padStart(6, '0')}\0 `);
  return buf;
}

/** One pax record: `<length> <key>=<value>\n`, where length counts the whole record. */
export function paxRecord(key: string, value: string | Buffer): Buffer {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const bodyBytes = key.length + bytes.length + 3;
  let length = bodyBytes + String(bodyBytes).length;
  if (String(length).length !== String(bodyBytes).length) length = bodyBytes + String(length).length;
  return Buffer.concat([Buffer.from(`${length} ${key}=`), bytes, Buffer.from('\n')]);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** True when `bytes` are UTF-8. */
function isUtf8(bytes: Buffer): boolean {
  try {
    utf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** The header blocks of `e`: a pax header first when ustar cannot hold its path, link or size. */
export function headerBlocks(e: Entry): Buffer[] {
  const split = splitPath(e.path);
  const longLink = e.linkname !== undefined && e.linkname.length > 100;
  const bigSize = e.size > MAX_OCTAL_SIZE;
  const blocks: Buffer[] = [];
  if (!split || longLink || bigSize) {
    const binary = (!split && !isUtf8(e.path)) || (longLink && !isUtf8(e.linkname!));
    const data = Buffer.concat([
      ...(binary ? [paxRecord('hdrcharset', 'BINARY')] : []),
      ...(split ? [] : [paxRecord('path', e.path)]),
      ...(longLink ? [paxRecord('linkpath', e.linkname!)] : []),
      ...(bigSize ? [paxRecord('size', String(e.size))] : []),
    ]);
    const pax = Buffer.from('PaxHeader');
    const paxEntry: Entry = { path: pax, type: 'x', size: data.length, mode: 0o644, mtimeSec: e.mtimeSec };
    blocks.push(header(paxEntry, EMPTY, pax, data.length, EMPTY), data, padding(data.length));
  }
  const [prefix, name] = split ?? [EMPTY, e.path.subarray(-100)];
  blocks.push(header(e, prefix, name, bigSize ? 0 : e.size, longLink ? EMPTY : (e.linkname ?? EMPTY)));
  return blocks;
}

/** `size` bytes of `handle`'s file (zeros for what it lost meanwhile), then the padding. */
async function* fileData(handle: FileHandle, size: number): AsyncGenerator<Buffer> {
  let left = size;
  while (left > 0) {
    const buf = Buffer.alloc(Math.min(left, 256 * 1024));
    const { bytesRead } = await handle.read(buf, 0, buf.length, size - left);
    if (bytesRead === 0) {
      yield Buffer.alloc(left);
      break;
    }
    left -= bytesRead;
    yield buf.subarray(0, bytesRead);
  }
  yield padding(size);
}

/** `a/b` of byte paths; `b` alone when `a` is empty. */
function joined(a: Buffer, b: Buffer): Buffer {
  return a.length === 0 ? b : Buffer.concat([a, Buffer.from('/'), b]);
}

/**
 * Directories nested deeper than this are refused: the walk holds one descriptor per level, and a
 * job can nest directories as deep as it likes (`mkdir a; cd a` in a loop) to use up the
 * worker's.
 */
export const MAX_ARCHIVE_DEPTH = 256;

/** The entries of `dir`, whose path in the archive is `rel`, each reached through `dir`'s descriptor; `depth` levels below the top. */
async function* walk(dir: DirectoryInside, rel: Buffer, depth = 0): AsyncGenerator<Buffer> {
  for (const name of await dir.names()) {
    const path = joined(rel, name);
    const st = await dir.lstat(name);
    if (st.isDirectory()) {
      if (depth + 1 >= MAX_ARCHIVE_DEPTH) {
        throw new UnrecoverableError(`the directory nests more than ${MAX_ARCHIVE_DEPTH} levels deep (at ${JSON.stringify(path.toString('utf8').slice(0, 200))}…)`, 'LIMIT_EXCEEDED');
      }
      const sub = await dir.openDirectory(name);
      try {
        yield* headerBlocks({ mode: st.mode, mtimeSec: st.mtimeMs / 1000, path: Buffer.concat([path, Buffer.from('/')]), type: '5', size: 0 });
        yield* walk(sub, path, depth + 1);
      } finally {
        await sub.close();
      }
    } else if (st.isFile()) {
      const handle = await dir.openFile(name);
      try {
        // The header describes the file that was opened, not the one lstat saw.
        const opened = await handle.stat();
        yield* headerBlocks({ mode: opened.mode, mtimeSec: opened.mtimeMs / 1000, path, type: '0', size: opened.size });
        yield* fileData(handle, opened.size);
      } finally {
        await handle.close();
      }
    } else if (st.isSymbolicLink()) {
      yield* headerBlocks({ mode: st.mode, mtimeSec: st.mtimeMs / 1000, path, type: '2', size: 0, linkname: await dir.readlink(name) });
    }
  }
}

/**
 * The tar archive of the directory `dir` (entries relative to it), block by block; `root` is the
 * job directory's real path, which `dir` must be inside.
 */
export async function* tarDirectory(dir: string, root: Buffer): AsyncGenerator<Buffer> {
  const top = await DirectoryInside.open(root, dir);
  try {
    yield* walk(top, EMPTY);
  } finally {
    await top.close();
  }
  yield Buffer.alloc(2 * BLOCK);
}
