/** Test support: whether a process runs, read from `/proc`. */
import { readFile } from 'node:fs/promises';

/** True while process `pid` exists and is not a zombie. */
export async function alive(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
