/**
 * Opening a job's files and directories for an artifact, checked on what was opened rather than
 * on its path. The job's processes can change the job directory while the worker (root) reads it:
 * a directory on the path swapped for a symbolic link between a check of the path and its open
 * would lead the read outside the job directory. So a file is opened first, without following a
 * last symbolic link and without blocking (a FIFO would hang the read), and then what the
 * descriptor holds must be a regular file whose real path (`/proc/self/fd/<fd>`) is inside the
 * job directory's real path. A directory is opened and checked the same way, and then read only
 * through its descriptor ({@link DirectoryInside}): its entries are listed, examined and opened
 * as `/proc/self/fd/<fd>/<name>`, which names the directory that was opened whatever has been
 * renamed since, so a walk never leaves the tree it started in.
 *
 * A regular file with other hard links must belong to the job directory's owner (the user the
 * job runs as): a hard link the job made to a file it does not own (which the kernel allows
 * where `fs.protected_hardlinks` is off) would let the worker read that file for it.
 */
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { UnrecoverableError } from '../../engine/job-control.js';
import { DIRECTORY_FLAGS, FD_PATHS, fdPath } from '../../fd-paths.js';

const SLASH = 0x2f;

/** True when `path` is `root` or inside it (both real, absolute, as bytes). */
function inside(root: Buffer, path: Buffer): boolean {
  return path.equals(root) || (path.length > root.length && path[root.length] === SLASH && path.subarray(0, root.length).equals(root));
}

/** The real path of an open descriptor; on a system without `/proc`, the real path of `path` (checked again after the open, so only as safe as a check by path). */
async function realPathOf(handle: FileHandle, path: string | Buffer): Promise<Buffer> {
  try {
    return await readlink(fdPath(handle.fd), { encoding: 'buffer' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return realpath(path, { encoding: 'buffer' });
  }
}

const FILE_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Opens `path` with `flags`; a symbolic link where the open wanted none is a NOT_A_FILE. */
async function openNoLink(path: string | Buffer, flags: number, shown: string): Promise<FileHandle> {
  try {
    return await open(path, flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new UnrecoverableError(`${shown} became a symbolic link while it was stored`, 'NOT_A_FILE');
    if (code === 'ENOTDIR' && flags & constants.O_DIRECTORY) throw new UnrecoverableError(`${shown} is no longer a directory`, 'NOT_A_FILE');
    throw err;
  }
}

/** Closes `handle` when `check` throws, and rethrows. */
async function checked(handle: FileHandle, check: () => Promise<void>): Promise<FileHandle> {
  try {
    await check();
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Refuses `handle` unless it holds a regular file: one linked elsewhere too only if user `owner` (the job directory's) owns it. */
async function mustBeFile(handle: FileHandle, shown: string, owner: number): Promise<void> {
  const st = await handle.stat();
  if (!st.isFile()) throw new UnrecoverableError(`${shown} is not a regular file`, 'NOT_A_FILE');
  if (st.nlink > 1 && st.uid !== owner) {
    throw new UnrecoverableError(`${shown} is a hard link to a file the job does not own`, 'PATH_ESCAPES_JOB_DIR');
  }
}

/** The user who owns the job directory `root`: the one the job runs as. */
async function ownerOf(root: Buffer): Promise<number> {
  return (await stat(root)).uid;
}

/** Refuses `handle` unless its real path is inside `root`. */
async function mustBeInside(root: Buffer, handle: FileHandle, path: string | Buffer, shown: string): Promise<void> {
  if (!inside(root, await realPathOf(handle, path))) {
    throw new UnrecoverableError(`path ${shown} leads outside the job directory`, 'PATH_ESCAPES_JOB_DIR');
  }
}

/**
 * Opens the regular file at `path` for reading, if what it opened is a regular file inside
 * `root` (the job directory's real path); an {@link UnrecoverableError} otherwise.
 */
export async function openFileInside(root: Buffer, path: string | Buffer, owner?: number): Promise<FileHandle> {
  const shown = JSON.stringify(path.toString());
  const handle = await openNoLink(path, FILE_FLAGS, shown);
  return checked(handle, async () => {
    await mustBeFile(handle, shown, owner ?? (await ownerOf(root)));
    await mustBeInside(root, handle, path, shown);
  });
}

/**
 * A directory opened inside the job directory and read through its descriptor: each entry is
 * reached as `/proc/self/fd/<fd>/<name>`, never through the path the directory was opened by.
 * Without `/proc` its entries are reached by path and each file is checked as
 * {@link openFileInside} checks it. Close it when done.
 */
export class DirectoryInside {
  readonly #root: Buffer;
  /** The job directory's owner. */
  readonly #owner: number;
  readonly #handle: FileHandle;
  /** The path it was opened by: for messages, and for its entries where there is no `/proc`. */
  readonly #path: Buffer;
  readonly #base: Buffer;

  private constructor(root: Buffer, owner: number, handle: FileHandle, path: Buffer) {
    this.#root = root;
    this.#owner = owner;
    this.#handle = handle;
    this.#path = path;
    this.#base = FD_PATHS ? Buffer.from(fdPath(handle.fd)) : path;
  }

  /** Opens the directory at `path`, if what it opened is a directory inside `root` (the job directory's real path). */
  static async open(root: Buffer, path: string | Buffer): Promise<DirectoryInside> {
    const bytes = Buffer.from(path);
    const shown = JSON.stringify(bytes.toString());
    const owner = await ownerOf(root);
    const handle = await openNoLink(bytes, DIRECTORY_FLAGS, shown);
    return new DirectoryInside(root, owner, await checked(handle, () => mustBeInside(root, handle, bytes, shown)), bytes);
  }

  #entry(name: Buffer): Buffer {
    return Buffer.concat([this.#base, Buffer.from('/'), name]);
  }

  #shown(name: Buffer): string {
    return JSON.stringify(Buffer.concat([this.#path, Buffer.from('/'), name]).toString());
  }

  /** The names of its entries, as bytes, sorted. */
  async names(): Promise<Buffer[]> {
    return (await readdir(this.#base, { encoding: 'buffer' })).sort(Buffer.compare);
  }

  /** What the entry `name` is, not following a symbolic link. */
  lstat(name: Buffer): Promise<Stats> {
    return lstat(this.#entry(name));
  }

  /** The target of the symbolic link `name`, as bytes. */
  async readlink(name: Buffer): Promise<Buffer> {
    try {
      return await readlink(this.#entry(name), { encoding: 'buffer' });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EINVAL') throw new UnrecoverableError(`${this.#shown(name)} is no longer a symbolic link`, 'NOT_A_FILE');
      throw err;
    }
  }

  /** Opens the regular file `name` for reading. */
  async openFile(name: Buffer): Promise<FileHandle> {
    if (!FD_PATHS) return openFileInside(this.#root, this.#entry(name), this.#owner);
    const shown = this.#shown(name);
    const handle = await openNoLink(this.#entry(name), FILE_FLAGS, shown);
    return checked(handle, () => mustBeFile(handle, shown, this.#owner));
  }

  /** Opens its directory `name`. */
  async openDirectory(name: Buffer): Promise<DirectoryInside> {
    const path = Buffer.concat([this.#path, Buffer.from('/'), name]);
    if (!FD_PATHS) return DirectoryInside.open(this.#root, path);
    return new DirectoryInside(this.#root, this.#owner, await openNoLink(this.#entry(name), DIRECTORY_FLAGS, this.#shown(name)), path);
  }

  close(): Promise<void> {
    return this.#handle.close();
  }
}
