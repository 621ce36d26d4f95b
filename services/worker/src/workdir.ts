/**
 * The per-attempt job directory. A job's steps share one directory that exists for one
 * attempt on one worker: it is created on first use (a job of NOOP steps never touches the
 * disk) and removed, with everything in it, after the attempt's last step.
 *
 * Layout under the worker's work root: `<jobId>.<attempt>/work` is the job directory (the
 * steps' working directory), `<jobId>.<attempt>/meta` holds the worker's own files for the
 * attempt (scripts of COMMAND steps), so they never show up in a directory artifact.
 *
 * Invariant: {@link WorkDir.resolve} never returns a path outside the job directory, neither
 * by `..` nor through a symbolic link.
 */
import { mkdir, realpath, rm } from 'node:fs/promises';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UnrecoverableError } from './engine/job-control.js';

/** The job directory of one attempt. */
export interface WorkDir {
  /** Absolute path of the job directory; it exists once {@link ensure} resolved. */
  readonly path: string;
  /** Absolute path of the worker's private directory of the attempt (scripts). */
  readonly metaPath: string;
  /** Creates the job directory (and the private one) if needed; resolves with its path. */
  ensure(): Promise<string>;
  /**
   * The absolute, symlink-free path of `relativePath` inside the job directory. Refuses with
   * an {@link UnrecoverableError} (code `PATH_ESCAPES_JOB_DIR`) a path that leads outside it.
   * `mustExist: false` allows a path that does not exist yet (its existing parent is checked).
   */
  resolve(relativePath: string, opts?: { mustExist?: boolean }): Promise<string>;
}

/** A job directory and its removal. */
export interface AttemptDir extends WorkDir {
  /** Removes the attempt's directories if they were created. Never throws. */
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

/** The directory of attempt `attempt` of job `jobId` under `root` (nothing is created yet). */
export function attemptDir(root: string, jobId: string, attempt: number): AttemptDir {
  const base = resolve(root, `${jobId}.${attempt}`);
  const path = join(base, 'work');
  const metaPath = join(base, 'meta');
  let created: Promise<string> | undefined;
  let realRoot: string | undefined;

  const ensure = () => {
    created ??= (async () => {
      await mkdir(path, { recursive: true, mode: 0o700 });
      await mkdir(metaPath, { recursive: true, mode: 0o700 });
      realRoot = await realpath(path);
      return path;
    })();
    return created;
  };

  return {
    path,
    metaPath,
    ensure,
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
      await rm(base, { recursive: true, force: true, maxRetries: 2 }).catch(() => undefined);
    },
  };
}
