/**
 * Run as its own process by `step-user.test.ts`, as root, under a process limit (`prlimit
 * --nproc`): starts as many processes of a range's user as the limit allows, so that the sweep's
 * killer shell, one more process of that user, cannot start; then sweeps the user and prints
 * what the sweep answered and which of its processes are left. Kills those before it exits.
 */
import { spawn } from 'node:child_process';
import { processesOfUser } from '../steps/process/procfs.js';
import { StepUserPool } from '../steps/process/step-user.js';

const [uid, count] = process.argv.slice(2).map(Number) as [number, number];

const pool = new StepUserPool({ first: { uid, gid: uid }, count: 2 });
const user = pool.acquire();
const started = await Promise.all(
  Array.from({ length: count }, () =>
    new Promise<boolean>((resolve) => {
      const child = spawn('/bin/sleep', ['600'], { uid, gid: uid, detached: true, stdio: 'ignore' });
      child.once('spawn', () => resolve(true));
      child.once('error', () => resolve(false));
      child.unref();
    }),
  ),
);
let swept: unknown;
try {
  swept = await pool.sweep(user);
} catch (err) {
  swept = `threw: ${(err as Error).message}`;
}
const left = await processesOfUser(uid);
for (const pid of left) process.kill(pid, 'SIGKILL');
process.stdout.write(`${JSON.stringify({ started: started.filter(Boolean).length, swept, left: left.length })}\n`);
