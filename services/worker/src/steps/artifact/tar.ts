/**
 * A streaming POSIX tar (ustar, with pax extended headers for long names and large sizes) of
 * a directory, so that a directory artifact is one object. Entries are sorted by name; regular
 * files, directories and symbolic links (stored as links, never followed) are archived; other
 * file types (sockets, devices, fifos) are left out. Owners are stored as 0/root.
 */
import { type FileHandle, lstat, open, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

const BLOCK = 512;
const MAX_OCTAL_SIZE = 0o77777777777;

function field(buf: Buffer, offset: number, length: number, value: string): void {
  Buffer.from(value, 'utf8').copy(buf, offset, 0, length);
}

function octal(buf: Buffer, offset: number, length: number, value: number): void {
  field(buf, offset, length, `${Math.max(0, Math.floor(value)).toString(8).padStart(length - 1, '0')}\0`);
}

/** Splits a long path into ustar's prefix and name fields, if it fits them. */
function splitPath(path: string): [prefix: string, name: string] | undefined {
  if (Buffer.byteLength(path) <= 100) return ['', path];
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) {
    const prefix = path.slice(0, i);
    const name = path.slice(i + 1);
    if (Buffer.byteLength(prefix) <= 155 && Buffer.byteLength(name) <= 100 && name !== '') return [prefix, name];
  }
  return undefined;
}

interface Entry {
  readonly path: string;
  readonly type: '0' | '2' | '5' | 'x';
  readonly size: number;
  readonly mode: number;
  readonly mtimeSec: number;
  readonly linkname?: string;
}

function header(e: Entry, prefix: string, name: string, size: number, linkname: string): Buffer {
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
export function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  const bodyBytes = Buffer.byteLength(body);
  let length = bodyBytes + String(bodyBytes).length;
  if (String(length).length !== String(bodyBytes).length) length = bodyBytes + String(length).length;
  return `${length}${body}`;
}

function padding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

/** The header blocks of `e`: a pax header first when ustar cannot hold its path, link or size. */
export function headerBlocks(e: Entry): Buffer[] {
  const split = splitPath(e.path);
  const longLink = e.linkname !== undefined && Buffer.byteLength(e.linkname) > 100;
  const bigSize = e.size > MAX_OCTAL_SIZE;
  const blocks: Buffer[] = [];
  if (!split || longLink || bigSize) {
    const records =
      (split ? '' : paxRecord('path', e.path)) +
      (longLink ? paxRecord('linkpath', e.linkname!) : '') +
      (bigSize ? paxRecord('size', String(e.size)) : '');
    const data = Buffer.from(records, 'utf8');
    const paxEntry: Entry = { path: 'PaxHeader', type: 'x', size: data.length, mode: 0o644, mtimeSec: e.mtimeSec };
    blocks.push(header(paxEntry, '', 'PaxHeader', data.length, ''), data, padding(data.length));
  }
  const [prefix, name] = split ?? ['', e.path.slice(-100)];
  blocks.push(header(e, prefix, name, bigSize ? 0 : e.size, longLink ? '' : (e.linkname ?? '')));
  return blocks;
}

async function* fileData(path: string, size: number): AsyncGenerator<Buffer> {
  let handle: FileHandle | undefined;
  try {
    handle = await open(path, 'r');
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
  } finally {
    await handle?.close();
  }
  yield padding(size);
}

async function* walk(root: string, rel: string): AsyncGenerator<Buffer> {
  const names = (await readdir(rel === '' ? root : join(root, rel))).sort();
  for (const n of names) {
    const path = rel === '' ? n : `${rel}/${n}`;
    const full = join(root, path);
    const st = await lstat(full);
    const base = { mode: st.mode, mtimeSec: st.mtimeMs / 1000 };
    if (st.isDirectory()) {
      yield* headerBlocks({ ...base, path: `${path}/`, type: '5', size: 0 });
      yield* walk(root, path);
    } else if (st.isFile()) {
      yield* headerBlocks({ ...base, path, type: '0', size: st.size });
      yield* fileData(full, st.size);
    } else if (st.isSymbolicLink()) {
      yield* headerBlocks({ ...base, path, type: '2', size: 0, linkname: await readlink(full) });
    }
  }
}

/** The tar archive of the directory `root` (entries relative to it), block by block. */
export async function* tarDirectory(root: string): AsyncGenerator<Buffer> {
  yield* walk(root, '');
  yield Buffer.alloc(2 * BLOCK);
}
