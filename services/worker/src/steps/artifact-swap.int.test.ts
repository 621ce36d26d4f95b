/**
 * ARTIFACT against a job that changes its directory while the worker (root) reads it: a process
 * of the job that outlived its COMMAND step (a new session, under the shared step user) swaps a
 * directory of the path for a symbolic link to a directory only root may read, over and over
 * (renameat2 with RENAME_EXCHANGE). A check of the path followed by an open of it by name let
 * the worker upload the other side's file; the open is now checked on its descriptor
 * (`artifact/open-inside.ts`).
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();
const leftovers: number[] = [];
let secretDir: string;
const SECRET = 'TOP-SECRET-OF-ROOT\n';

beforeAll(async () => {
  secretDir = await mkdtemp(join(tmpdir(), 'artifact-swap-secret-'));
  await mkdir(secretDir, { recursive: true });
  await writeFile(join(secretDir, 'f'), SECRET, { mode: 0o600 });
  await chmod(secretDir, 0o700);
});

afterAll(async () => {
  for (const pid of leftovers) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  await rm(secretDir, { recursive: true, force: true });
});

describe('ARTIFACT path check and open', () => {
  // syscall 316 is renameat2 on x86-64.
  it.runIf(process.arch === 'x64')('never uploads a file outside the job directory, even while a path component is swapped for a symlink', async () => {
    const { worker } = await h.startWorker();
    // renameat2(AT_FDCWD, "d", AT_FDCWD, "other", RENAME_EXCHANGE) in a loop: "d" is, in turn, a
    // real directory holding f and a symbolic link to the secret directory; it always exists.
    const swapper = `my ($a, $b) = ("d", "other"); while (1) { syscall(316, -100, $a, -100, $b, 2); }`;
    const script = [
      'mkdir d && echo public > d/f',
      `ln -s ${secretDir} other`,
      `setsid perl -e '${swapper}' >/dev/null 2>&1 </dev/null & echo "pid $!"`,
      'sleep 0.3',
    ].join('\n');
    const artifacts = Array.from({ length: 98 }, (_, i) => ({ name: `keep-${i}`, phase: 'CLEANUP' as const, type: 'ARTIFACT', spec: { path: 'd/f', name: `a${i}` } }));
    const job = await h.createJob({
      maxAttempts: 1,
      timeoutMs: 120_000,
      steps: [{ name: 'setup', phase: 'SETUP', type: 'COMMAND', spec: { shell: '/bin/sh -e', script } }, ...artifacts],
    });
    await h.run(worker, job.id);
    const events = await h.events(job.id);
    const out = events.filter((e) => e.type === 'step.output').map((e) => (e.payload as { chunk: string }).chunk).join('');
    const pid = /^pid (\d+)$/m.exec(out);
    if (pid) leftovers.push(Number(pid[1]));
    const created = events.filter((e) => e.type === 'artifact.created').map((e) => (e.payload as { sha256: string }).sha256);
    const secretSha = createHash('sha256').update(SECRET).digest('hex');
    const leaked = created.filter((s) => s === secretSha).length;
    const outcomes = (await h.steps(job.id)).slice(1).map((st) => st.error?.code ?? st.status);
    // Each ARTIFACT stored the job's own file or was refused; the swapper ran (some were refused).
    expect(outcomes.filter((o) => o !== 'COMPLETED' && o !== 'PATH_ESCAPES_JOB_DIR' && o !== 'NOT_A_FILE')).toEqual([]);
    expect(outcomes.filter((o) => o !== 'COMPLETED').length).toBeGreaterThan(0);
    expect(created.length).toBe(outcomes.filter((o) => o === 'COMPLETED').length);
    expect(leaked).toBe(0);
  }, 120_000);
});
