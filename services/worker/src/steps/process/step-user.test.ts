import { execFile } from 'node:child_process';
import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@gantry/runtime';
import { loadWorkerSettings } from '../../settings.js';
import { NOBODY, prepareWorkRoot, resolveStepUser, StepUserPool } from './step-user.js';

const isRoot = process.getuid?.() === 0;

describe('resolveStepUser', () => {
  it('runs job processes as nobody under a root worker by default, and as the worker itself otherwise', () => {
    expect(resolveStepUser(undefined, 0)).toEqual({ first: NOBODY, count: 1 });
    expect(resolveStepUser(undefined, 1000)).toBeUndefined();
    expect(resolveStepUser('worker', 0)).toBeUndefined();
    expect(resolveStepUser('2000', 0)).toEqual({ first: { uid: 2000, gid: 2000 }, count: 1 });
    expect(resolveStepUser('2000:3000', 0)).toEqual({ first: { uid: 2000, gid: 3000 }, count: 1 });
    expect(resolveStepUser('100000-100063', 0)).toEqual({ first: { uid: 100_000, gid: 100_000 }, count: 64 });
    // A worker that is not root naming its own uid runs job processes as itself, as unset.
    expect(resolveStepUser('1000', 1000)).toBeUndefined();
  });

  it('refuses another user for a worker that is not root, root itself, empty ranges and ids out of range', () => {
    expect(() => resolveStepUser('2000', 1000)).toThrow(/needs a worker running as root.*uid 2000.*uid 1000/);
    expect(() => resolveStepUser('1000-1001', 1000)).toThrow(/needs a worker running as root/);
    expect(() => resolveStepUser('4294967295', 0)).toThrow(ConfigError);
    expect(() => resolveStepUser('4294967290-4294967295', 0)).toThrow(/at most/);
    expect(() => resolveStepUser('0', 0)).toThrow(/may not run as root/);
    expect(() => resolveStepUser('2000:0', 0)).toThrow(/may not run as root/);
    expect(() => resolveStepUser('0-7', 0)).toThrow(/may not run as root/);
    expect(() => resolveStepUser('200-100', 0)).toThrow(/must not end before it starts/);
  });

  it('gives each running attempt a user of its own from a range, and everyone the one user otherwise', () => {
    const range = new StepUserPool({ first: { uid: 500, gid: 500 }, count: 2 });
    const a = range.acquire();
    const b = range.acquire();
    expect([a, b]).toEqual([{ uid: 500, gid: 500 }, { uid: 501, gid: 501 }]);
    expect(() => range.acquire()).toThrow(/all 2 users/);
    range.release(a);
    expect(range.acquire()).toEqual(a);
    const single = new StepUserPool({ first: NOBODY, count: 1 });
    expect([single.acquire(), single.acquire()]).toEqual([NOBODY, NOBODY]);
  });

  it('is read from WORKER_STEP_USER, whose format is checked', () => {
    expect(loadWorkerSettings({ WORKER_STEP_USER: '123:456' }, 0).stepUsers).toEqual({ first: { uid: 123, gid: 456 }, count: 1 });
    expect(loadWorkerSettings({}, 0).stepUsers).toEqual({ first: NOBODY, count: 1 });
    expect(loadWorkerSettings({}, 1000).stepUsers).toBeUndefined();
    expect(loadWorkerSettings({ WORKER_STEP_USER: '100000-100007' }, 0).stepUsers).toEqual({ first: { uid: 100_000, gid: 100_000 }, count: 8 });
    // Each running attempt needs a user of its own: a range shorter than the slots is refused.
    expect(() => loadWorkerSettings({ WORKER_STEP_USER: '100000-100003' }, 0)).toThrow(/4 users and WORKER_CONCURRENCY is 8/);
    for (const bad of ['nobody', '12:', ':12', '-1', '1:2:3', '1-2:3', '1-']) {
      expect(() => loadWorkerSettings({ WORKER_STEP_USER: bad }, 0), bad).toThrow(/WORKER_STEP_USER/);
    }
  });
});

describe.runIf(isRoot)('StepUserPool.sweep (as root)', () => {
  it('ends a user’s processes when the user is at its process limit and the killer shell cannot start', async () => {
    // Under RLIMIT_NPROC 4, five processes of the user start (the kernel refuses past the
    // limit), and the sweep's shell, a sixth, is refused (EAGAIN): the sweep threw, left them
    // running, and the attempt gave the uid to the next attempt anyway.
    const script = fileURLToPath(new URL('../../testing/sweep-at-process-limit.ts', import.meta.url));
    const uid = 61_000 + (process.pid % 1_000);
    const out = await new Promise<string>((resolve, reject) =>
      execFile('prlimit', ['--nproc=4:4', process.execPath, '--import', 'tsx', script, String(uid), '5'], (err, stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve(stdout))),
    );
    expect(JSON.parse(out)).toEqual({ started: 5, swept: true, left: 0 });
  });

  it('holds back a user given back with processes left, and gives it out again once a sweep finds none', async () => {
    const uid = 62_000 + (process.pid % 1_000);
    const pool = new StepUserPool({ first: { uid, gid: uid }, count: 2 });
    const told: number[] = [];
    pool.onHeldChange = (held) => void told.push(held);
    const a = pool.acquire();
    const b = pool.acquire();
    pool.release(a, false);
    expect(pool.held).toEqual([uid]);
    expect(told).toEqual([1]);
    expect(() => pool.acquire()).toThrow(/all 2 users/);
    // Nothing of `a` runs now: the next sweeps find so and give it back, once though two run at
    // the same time (two attempts ending together).
    const [swept] = await Promise.all([pool.sweep(b), pool.sweepHeld()]);
    expect(swept).toBe(true);
    pool.release(b, true);
    pool.release(b, true);
    expect(pool.held).toEqual([]);
    expect(told).toEqual([1, 0]);
    expect([pool.acquire(), pool.acquire()]).toEqual([a, b]);
    expect(() => pool.acquire()).toThrow(/all 2 users/);
  });

  it('sweeps the users it holds back on a timer, though no attempt ends', async () => {
    const uid = 63_000 + (process.pid % 1_000);
    const pool = new StepUserPool({ first: { uid, gid: uid }, count: 2 }, { heldSweepMs: 50 });
    const told: number[] = [];
    pool.onHeldChange = (held) => void told.push(held);
    try {
      pool.release(pool.acquire(), false);
      // Nothing of it runs: the timer's sweep gives it out again.
      for (const deadline = Date.now() + 5_000; pool.held.length > 0 && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 20));
      expect({ held: pool.held, told }).toEqual({ held: [], told: [1, 0] });
    } finally {
      pool.close();
    }
  });
});

describe.runIf(isRoot)('prepareWorkRoot (as root)', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'step-user-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('lets the job user search the work root, and proves a process of that user can enter it', async () => {
    const root = join(dir, 'open');
    await mkdir(root, { mode: 0o700 });
    await chmod(dir, 0o755);
    await prepareWorkRoot(root, NOBODY);
    expect((await stat(root)).mode & 0o777).toBe(0o711);
  });

  it('refuses a work root the job user cannot reach, naming the user and the directory', async () => {
    await chmod(dir, 0o700);
    const root = join(dir, 'closed');
    await mkdir(root);
    await expect(prepareWorkRoot(root, NOBODY)).rejects.toThrow(`job processes cannot run as 65534:65534 in WORKER_WORK_DIR ${root}`);
  });
});
