import { randomUUID } from 'node:crypto';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '@gantry/runtime';
import { sweepStaleJobDirs } from './stale-dirs.js';
import { useWorkerHarness } from './testing/harness.js';

const h = useWorkerHarness();
const logger = createLogger({ service: 'test', version: '0', level: 'silent' });

/** An attempt directory under `root` as a worker leaves it: work, meta and tmp, with a file. */
async function leftBehind(root: string, jobId: string, attempt: number): Promise<string> {
  const name = `${jobId}.${attempt}`;
  await mkdir(join(root, name, 'work', 'deep'), { recursive: true });
  await mkdir(join(root, name, 'meta'), { recursive: true });
  await writeFile(join(root, name, 'work', 'deep', 'out.txt'), 'left');
  return name;
}

describe('the sweep of job directories left behind', () => {
  it('removes the directories of attempts that are over, and leaves those that run, those held here and everything else', async () => {
    const root = join(h.workRoot, `sweep-${randomUUID()}`);
    await mkdir(root, { recursive: true });
    const set = (id: string, status: string, attempt: number) => h.pool.query('UPDATE runner_jobs SET status = $2, attempt = $3 WHERE id = $1', [id, status, attempt]);
    const [ended, parked, requeued, running, heldHere] = [await h.createJob(), await h.createJob(), await h.createJob(), await h.createJob(), await h.createJob()];
    await set(ended.id, 'COMPLETED', 1);
    await set(parked.id, 'WAITING', 1);
    await set(requeued.id, 'QUEUED', 2);
    await set(running.id, 'RUNNING', 1);
    await set(heldHere.id, 'CANCELLED', 1);
    const gone = [await leftBehind(root, ended.id, 1), await leftBehind(root, parked.id, 1), await leftBehind(root, requeued.id, 1), await leftBehind(root, randomUUID(), 3)];
    const kept = [await leftBehind(root, requeued.id, 2), await leftBehind(root, running.id, 1), await leftBehind(root, heldHere.id, 1)];
    await writeFile(join(root, 'notes.txt'), 'not a job directory');
    await mkdir(join(root, 'cache'));

    const removed = await sweepStaleJobDirs({ root, pool: h.pool, holds: (jobId, attempt) => jobId === heldHere.id && attempt === 1, logger });
    expect(removed).toBe(gone.length);
    expect((await readdir(root)).sort()).toEqual([...kept, 'cache', 'notes.txt'].sort());
  });

  it('runs when a worker starts', async () => {
    const job = await h.createJob();
    await h.pool.query(`UPDATE runner_jobs SET status = 'FAILED', attempt = 1 WHERE id = $1`, [job.id]);
    const name = await leftBehind(h.workRoot, job.id, 1);
    await h.startWorker();
    for (const deadline = Date.now() + 10_000; (await readdir(h.workRoot)).includes(name) && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 50));
    expect(await readdir(h.workRoot)).not.toContain(name);
  });
});
