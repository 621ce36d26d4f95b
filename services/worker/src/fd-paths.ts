/**
 * Naming an open descriptor by path (Linux's `/proc/self/fd/<fd>`), so that files are reached
 * relative to a directory that was opened, whatever a job's processes rename meanwhile: the
 * worker (root) walks a job's directory this way for ARTIFACT (`steps/artifact/open-inside.ts`)
 * and creates a step's `cwd` (`workdir.ts`).
 */
import { constants, existsSync } from 'node:fs';

/** Whether a descriptor can be named by path here; without `/proc`, callers fall back to paths. */
export const FD_PATHS = existsSync('/proc/self/fd');

/** Opens a directory for reading, not through a symbolic link as its last component. */
export const DIRECTORY_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** The path of descriptor `fd`, or of its entry `name` when given. */
export function fdPath(fd: number, name?: string): string {
  return name === undefined ? `/proc/self/fd/${fd}` : `/proc/self/fd/${fd}/${name}`;
}
