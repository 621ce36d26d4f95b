import { chmod, mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@gantry/runtime';
import { loadWorkerSettings } from '../../settings.js';
import { NOBODY, prepareWorkRoot, resolveStepUser } from './step-user.js';

const isRoot = process.getuid?.() === 0;

describe('resolveStepUser', () => {
  it('runs job processes as nobody under a root worker by default, and as the worker itself otherwise', () => {
    expect(resolveStepUser(undefined, 0)).toEqual(NOBODY);
    expect(resolveStepUser(undefined, 1000)).toBeUndefined();
    expect(resolveStepUser('worker', 0)).toBeUndefined();
    expect(resolveStepUser('2000', 0)).toEqual({ uid: 2000, gid: 2000 });
    expect(resolveStepUser('2000:3000', 0)).toEqual({ uid: 2000, gid: 3000 });
    // A worker that is not root naming its own uid runs job processes as itself, as unset.
    expect(resolveStepUser('1000', 1000)).toBeUndefined();
  });

  it('refuses another user for a worker that is not root, and ids out of range', () => {
    expect(() => resolveStepUser('2000', 1000)).toThrow(/needs a worker running as root.*uid 2000.*uid 1000/);
    expect(() => resolveStepUser('4294967295', 0)).toThrow(ConfigError);
  });

  it('is read from WORKER_STEP_USER, whose format is checked', () => {
    expect(loadWorkerSettings({ WORKER_STEP_USER: '123:456' }, 0).stepUser).toEqual({ uid: 123, gid: 456 });
    expect(loadWorkerSettings({}, 0).stepUser).toEqual(NOBODY);
    expect(loadWorkerSettings({}, 1000).stepUser).toBeUndefined();
    for (const bad of ['nobody', '12:', ':12', '-1', '1:2:3']) {
      expect(() => loadWorkerSettings({ WORKER_STEP_USER: bad }, 0), bad).toThrow(/WORKER_STEP_USER/);
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
