/**
 * Finding and signalling processes through Linux's `/proc`: the processes a step's group no
 * longer reaches (its session's other groups, an attempt user's processes). Where there is no
 * `/proc`, nothing is found.
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';

/** The pids whose `/proc/<pid>/<file>` text satisfies `matches`; a process gone meanwhile is skipped. */
export async function processesWhere(file: 'stat' | 'status', matches: (text: string) => boolean): Promise<number[]> {
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  await Promise.all(
    entries.map(async (entry) => {
      if (!/^\d+$/.test(entry)) return;
      try {
        if (matches(await readFile(`/proc/${entry}/${file}`, 'utf8'))) found.push(Number(entry));
      } catch {
        // gone meanwhile
      }
    }),
  );
  return found;
}

/** The processes of user `uid` that still run (not zombies). */
export function processesOfUser(uid: number): Promise<number[]> {
  return processesWhere('status', (status) => Number(/^Uid:\s+(\d+)/m.exec(status)?.[1]) === uid && !/^State:\s+Z/m.test(status));
}

/** Sends `signal` to each of `pids`; one that is gone, or not ours to signal, is ignored. */
export function signalEach(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone meanwhile
    }
  }
}

/**
 * When process `pid` started (clock ticks since boot, `/proc/<pid>/stat`'s 22nd field), which
 * tells a process from a later one given the same pid; undefined when there is no such process
 * (or no `/proc`).
 */
export function startTimeOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state …`: the fields after the name's last ')', from the 3rd on.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}
