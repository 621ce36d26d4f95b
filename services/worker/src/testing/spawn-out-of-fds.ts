/**
 * Run as its own process by `process-group.test.ts`, under a low open-file limit: uses up every
 * file descriptor it may open, then spawns a command group as a COMMAND step does and prints
 * what `done` reported. Before the fix, the spawn's unhandled 'error' ended this process.
 */
import { openSync } from 'node:fs';
import { ProcessGroups, spawnGroup } from '../steps/process/process-group.js';

const held: number[] = [];
for (;;) {
  try {
    held.push(openSync('/dev/null', 'r'));
  } catch {
    break;
  }
}
const proc = spawnGroup(['/bin/true'], { cwd: '/', env: {}, killGraceMs: 100, groups: new ProcessGroups(), onOutput: () => {} });
const exit = await proc.done;
process.stdout.write(`${JSON.stringify({ held: held.length, pid: exit.pid ?? null, spawnError: (exit.spawnError as NodeJS.ErrnoException | undefined)?.code ?? null })}\n`);
