/**
 * Opening a job's file for an artifact, checked on what was opened rather than on its path. The
 * job's processes can change the job directory while the worker (root) reads it: a directory on
 * the path swapped for a symbolic link between a check of the path and its open would lead the
 * read outside the job directory. So the file is opened first, without following a last
 * symbolic link and without blocking (a FIFO would hang the read), and then what the descriptor
 * holds must be a regular file whose real path (`/proc/self/fd/<fd>`) is inside the job
 * directory's real path.
 */
import { constants } from 'node:fs';
import { type FileHandle, open, readlink, realpath } from 'node:fs/promises';
import { UnrecoverableError } from '../../engine/job-control.js';

const SLASH = 0x2f;

/** True when `path` is `root` or inside it (both real, absolute, as bytes). */
function inside(root: Buffer, path: Buffer): boolean {
  return path.equals(root) || (path.length > root.length && path[root.length] === SLASH && path.subarray(0, root.length).equals(root));
}

/** The real path of an open descriptor; on a system without `/proc`, the real path of `path` (checked again after the open, so only as safe as a check by path). */
async function realPathOf(handle: FileHandle, path: string | Buffer): Promise<Buffer> {
  try {
    return await readlink(`/proc/self/fd/${handle.fd}`, { encoding: 'buffer' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return realpath(path, { encoding: 'buffer' });
  }
}

/**
 * Opens the regular file at `path` for reading, if what it opened is a regular file inside
 * `root` (the job directory's real path); an {@link UnrecoverableError} otherwise.
 */
export async function openFileInside(root: Buffer, path: string | Buffer): Promise<FileHandle> {
  const shown = JSON.stringify(path.toString());
  let handle: FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ELOOP') throw new UnrecoverableError(`${shown} became a symbolic link while it was stored`, 'NOT_A_FILE');
    throw err;
  }
  try {
    if (!(await handle.stat()).isFile()) throw new UnrecoverableError(`${shown} is not a regular file`, 'NOT_A_FILE');
    if (!inside(root, await realPathOf(handle, path))) {
      throw new UnrecoverableError(`path ${shown} leads outside the job directory`, 'PATH_ESCAPES_JOB_DIR');
    }
    return handle;
  } catch (err) {
    await handle.close();
    throw err;
  }
}
