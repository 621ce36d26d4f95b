/**
 * The per-attempt job directory. A job's steps share one directory that exists for one
 * attempt on one worker: it is created on first use (a job of NOOP steps never touches the
 * disk) and removed, with everything in it, after the attempt's last step.
 *
 * Layout under the worker's work root: `<jobId>.<attempt>/work` is the job directory (the
 * steps' working directory), `<jobId>.<attempt>/meta` holds the worker's own files for the
 * attempt (scripts of COMMAND steps), so they never show up in a directory artifact, and
 * `<jobId>.<attempt>/tmp` is the steps' `TMPDIR`, private to the attempt's user and removed with
 * the rest: temporary files left in a shared `/tmp` would outlive the attempt, readable by a
 * later attempt given the same user.
 *
 * When job processes run as another user (`owner`), the job directory and what the worker
 * creates in it for them belong to that user; the attempt's directory and `meta` stay the
 * worker's, searchable but not listable by others.
 *
 * Invariant: {@link WorkDir.resolve} never returns a path outside the job directory, neither
 * by `..` nor through a symbolic link.
 */
import { chmod, type FileHandle, lchown, mkdir, open, readdir, realpath, rm } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UnrecoverableError } from './engine/job-control.js';
import { DIRECTORY_FLAGS, FD_PATHS, fdPath } from './fd-paths.js';
import type { StepUser } from './steps/process/step-user.js';

/**
 * Gives the owner full access to `dir` and every directory under it, so that their entries can
 * be removed: for a worker that is not root only, whose job processes run as the worker's own
 * user and could change these modes themselves. It follows a link that a job swaps in for a
 * directory meanwhile, which gives such a job nothing it did not have; a root worker, whose
 * removal a read-only directory does not stop, never walks.
 */
async function writableTree(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => undefined);
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  await Promise.all(entries.filter((e) => e.isDirectory()).map((e) => writableTree(join(dir, e.name))));
}

/** The job directory of one attempt. */
export interface WorkDir {
  /** Absolute path of the job directory; it exists once {@link ensure} resolved. */
  readonly path: string;
  /** Absolute path of the worker's private directory of the attempt (scripts). */
  readonly metaPath: string;
  /** Absolute path of the attempt's temporary directory (the steps' `TMPDIR`); it exists once {@link ensure} resolved. */
  readonly tmpPath: string;
  /** The user job processes run as, who owns the job directory; undefined: the worker's own. */
  readonly owner: StepUser | undefined;
  /** Creates the job directory (and the private one) if needed; resolves with its path. */
  ensure(): Promise<string>;
  /**
   * The absolute, symlink-free path of `relativePath` inside the job directory. Refuses with
   * an {@link UnrecoverableError} (code `PATH_ESCAPES_JOB_DIR`) a path that leads outside it.
   * `mustExist: false` allows a path that does not exist yet (its existing parent is checked).
   */
  resolve(relativePath: string, opts?: { mustExist?: boolean }): Promise<string>;
  /** Creates directory `relativePath` inside the job directory (and its parents), owned by {@link owner}; resolves like {@link resolve}. */
  makeDir(relativePath: string): Promise<string>;
  /** Hands a file the worker wrote to {@link owner} with `mode`. */
  handOver(path: string, mode: number): Promise<void>;
}

/** A job directory and its removal. */
export interface AttemptDir extends WorkDir {
  /** Removes the attempt's directories if they were created; rejects when they could not all be removed. */
  remove(): Promise<void>;
}

/** True when `child` is `parent` or lies inside it (both absolute and normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = relative(parent, child);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

function escapes(path: string): UnrecoverableError {
  return new UnrecoverableError(`path ${JSON.stringify(path)} leads outside the job directory`, 'PATH_ESCAPES_JOB_DIR');
}

async function realpathOrParent(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const parent = resolve(path, '..');
    if (parent === path) throw err;
    return join(await realpathOrParent(parent), path.slice(parent.length + 1));
  }
}

/**
 * Gives `path` and its ancestors up to `first` to `owner`, never anything outside `jobDir`
 * nor `jobDir` itself.
 */
async function giveTree(jobDir: string, first: string, path: string, owner: StepUser): Promise<void> {
  for (let p = path; p !== jobDir && isInside(jobDir, p); p = dirname(p)) {
    await lchown(p, owner.uid, owner.gid);
    if (p === first) return;
  }
}

/** Opens directory `path` without following a last symbolic link; one there is a path that escapes. */
async function openDirectory(path: string, shown: string): Promise<FileHandle> {
  try {
    return await open(path, DIRECTORY_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ELOOP' || code === 'ENOTDIR') throw escapes(shown);
    throw err;
  }
}

/**
 * Creates the directories of `rel` (normalised, inside) under `jobDir`, one component at a time,
 * each created and opened through its parent's descriptor (`/proc/self/fd/<fd>/<name>`) without
 * following a symbolic link, and given to `owner` through its own descriptor. A job process
 * that swaps a component for a link meanwhile cannot make the worker (root) create or hand over
 * a directory elsewhere: the walk never leaves the tree it opened.
 */
async function makeDirsInside(jobDir: string, rel: string, owner: StepUser | undefined, shown: string): Promise<void> {
  let dir = await openDirectory(jobDir, shown);
  try {
    for (const name of rel.split(sep).filter((n) => n !== '')) {
      const at = fdPath(dir.fd, name);
      let created = false;
      try {
        await mkdir(at);
        created = true;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const next = await openDirectory(at, shown);
      await dir.close();
      dir = next;
      if (created && owner !== undefined) await dir.chown(owner.uid, owner.gid);
    }
  } finally {
    await dir.close();
  }
}

/**
 * The directory of attempt `attempt` of job `jobId` under `root` (nothing is created yet);
 * `owner` is the user job processes run as, when it is not the worker's.
 */
export function attemptDir(root: string, jobId: string, attempt: number, owner?: StepUser): AttemptDir {
  const base = resolve(root, `${jobId}.${attempt}`);
  const path = join(base, 'work');
  const metaPath = join(base, 'meta');
  const tmpPath = join(base, 'tmp');
  let created: Promise<string> | undefined;
  let realRoot: string | undefined;

  const ensure = () => {
    created ??= (async () => {
      const shared = owner === undefined ? 0o700 : 0o711;
      await mkdir(base, { recursive: true, mode: shared });
      await mkdir(path, { recursive: true, mode: 0o700 });
      await mkdir(metaPath, { recursive: true, mode: shared });
      await mkdir(tmpPath, { recursive: true, mode: 0o700 });
      if (owner !== undefined) {
        await chmod(base, shared);
        await chmod(metaPath, shared);
        await lchown(path, owner.uid, owner.gid);
        await lchown(tmpPath, owner.uid, owner.gid);
      }
      realRoot = await realpath(path);
      return path;
    })();
    return created;
  };

  const dir: AttemptDir = {
    path,
    metaPath,
    tmpPath,
    owner,
    ensure,
    async makeDir(relativePath) {
      const target = await dir.resolve(relativePath, { mustExist: false });
      if (FD_PATHS) await makeDirsInside(realRoot!, relative(realRoot!, target), owner, relativePath);
      else {
        // Without /proc, by path: only as safe as the check of the path above.
        const first = await mkdir(target, { recursive: true });
        if (first !== undefined && owner !== undefined) await giveTree(realRoot!, first, target, owner);
      }
      return dir.resolve(relativePath);
    },
    async handOver(file, mode) {
      // In this order, a worker that owns the file needs no CAP_FOWNER.
      await chmod(file, mode);
      if (owner !== undefined) await lchown(file, owner.uid, owner.gid);
    },
    async resolve(relativePath, opts = {}) {
      await ensure();
      const lexical = resolve(path, relativePath);
      if (isAbsolute(relativePath) || !isInside(path, lexical)) throw escapes(relativePath);
      let real: string;
      try {
        real = opts.mustExist === false ? await realpathOrParent(lexical) : await realpath(lexical);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
          throw new UnrecoverableError(`path ${JSON.stringify(relativePath)} does not exist in the job directory`, 'PATH_NOT_FOUND');
        }
        throw err;
      }
      if (!isInside(realRoot!, real)) throw escapes(relativePath);
      return real;
    },
    async remove() {
      if (!created) return;
      await created.catch(() => undefined);
      await removeAttemptTree(base);
    },
  };
  return dir;
}

/** The name of attempt directories under a work root: `<jobId>.<attempt>`. */
export const ATTEMPT_DIR_NAME = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(\d+)$/;

/** Removes an attempt's directory `base` and everything in it. */
export async function removeAttemptTree(base: string): Promise<void> {
  try {
    await rm(base, { recursive: true, force: true, maxRetries: 2 });
  } catch (err) {
    // A directory a job made read-only (`go mod download` does) keeps its entries from a
    // worker that is not root: made writable again, the tree can go.
    if (process.getuid?.() === 0) throw err;
    await writableTree(base);
    await rm(base, { recursive: true, force: true, maxRetries: 2 });
  }
}
