/** Paths of the deploy package and the repository, from this module's location. */
import { fileURLToPath } from 'node:url';

/** `deploy/` (with a trailing slash). */
export const DEPLOY_DIR = fileURLToPath(new URL('../', import.meta.url));
/** The repository root (with a trailing slash). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The path of `relative` inside `deploy/`. */
export function deployPath(relative: string): string {
  return `${DEPLOY_DIR}${relative}`;
}
