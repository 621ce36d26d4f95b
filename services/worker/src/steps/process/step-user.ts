/**
 * The user job processes run as. A COMMAND or GATE process that runs as the worker's own user
 * can read what that user can: `/proc/<worker pid>/environ` (the database URL, NATS
 * credentials, API keys the worker started with), the worker's memory where ptrace is allowed,
 * its files. Run under another user, it can read none of them; the worker must then run as
 * root to start, signal and clean up after it (root holding only CAP_SETUID, CAP_SETGID,
 * CAP_CHOWN, CAP_KILL and CAP_DAC_OVERRIDE is enough: `deploy/k8s/components/isolated-steps`).
 *
 * `WORKER_STEP_USER` is `uid[:gid]` (gid defaults to the uid), a range `first-last` of uids
 * (each its own group), or `worker` for the worker's own user. With one user, every job process
 * runs as that user: jobs running at once on the worker can read each other's directories and
 * processes. With a range, each running attempt takes a user of its own from the range (a
 * {@link StepUserPool}), and jobs are isolated from each other as well as from the worker.
 * Unset, a worker running as root runs job processes as `nobody` (65534:65534), never as root;
 * any other worker runs them as itself (naming its own uid means the same).
 */
import { spawn } from 'node:child_process';
import { chmod, lstat, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '@gantry/runtime';
import { processesOfUser, signalEach } from './procfs.js';

/** A numeric user and group. */
export interface StepUser {
  readonly uid: number;
  readonly gid: number;
}

/** The users job processes may run as: `count` consecutive uids from `first` (each its own group), or `first` alone. */
export interface StepUsers {
  readonly first: StepUser;
  readonly count: number;
}

/** `nobody:nogroup` on Debian, `nobody:nobody` on most other systems and in distroless images. */
export const NOBODY: StepUser = Object.freeze({ uid: 65_534, gid: 65_534 });

/** The largest valid user or group id ((uid_t)-1 means "unchanged"). */
const MAX_ID = 4_294_967_294;

/**
 * The user of job processes for `raw` (the value of `WORKER_STEP_USER`) in a worker running
 * as `workerUid`; undefined means the worker's own user. Refuses another user for a worker that
 * is not root, which could not switch to it.
 */
export function resolveStepUser(raw: string | undefined, workerUid: number | undefined): StepUsers | undefined {
  const refuse = (message: string) => new ConfigError([{ variable: 'WORKER_STEP_USER', message }]);
  if (raw === undefined) return workerUid === 0 ? Object.freeze({ first: NOBODY, count: 1 }) : undefined;
  if (raw === 'worker') return undefined;
  const range = /^(\d+)-(\d+)$/.exec(raw);
  const [uid, gid = uid] = range ? [Number(range[1])] : (raw.split(':').map(Number) as [number, number?]);
  const count = range ? Number(range[2]) - uid + 1 : 1;
  if (count < 1) throw refuse('a range must not end before it starts');
  if (uid + count - 1 > MAX_ID || gid! > MAX_ID) throw refuse(`ids must be at most ${MAX_ID}`);
  if ((uid === 0 || gid === 0) && (range || workerUid === 0)) throw refuse('job processes may not run as root (uid or gid 0)');
  if (workerUid !== undefined && workerUid !== 0) {
    if (uid === workerUid && count === 1) return undefined;
    throw refuse(`needs a worker running as root to switch job processes to uid ${uid} (this worker runs as uid ${workerUid})`);
  }
  return Object.freeze({ first: Object.freeze({ uid, gid: range ? uid : gid! }), count });
}

/** Passes of {@link StepUserPool.sweep} at most. */
const SWEEP_ROUNDS = 5;
/** How often the users held back are swept while there are any, whether or not attempts end. */
const HELD_SWEEP_MS = 5_000;

/** Directories every user may write to, where an attempt's user may leave files outside its job directory. */
const SHARED_TMP = ['/tmp', '/var/tmp', '/dev/shm'];

/** Removes the entries of `dir` (not following links) that `uid` owns; a directory that is missing is skipped. */
async function removeOwnedBy(dir: string, uid: number): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  await Promise.all(
    names.map(async (name) => {
      const path = join(dir, name);
      try {
        if ((await lstat(path)).uid === uid) await rm(path, { recursive: true, force: true });
      } catch {
        // gone meanwhile
      }
    }),
  );
}

/** Runs `kill -KILL -1` as `user`: every process of that user but the shell itself is killed, in one pass of the kernel. */
function killEveryProcessOf(user: StepUser): Promise<void> {
  return new Promise((resolve, reject) => {
    const killer = spawn('/bin/sh', ['-c', 'kill -KILL -1 2>/dev/null; exit 0'], { cwd: '/', uid: user.uid, gid: user.gid, env: {}, stdio: 'ignore' });
    killer.once('error', reject);
    killer.once('exit', () => resolve());
  });
}

/** The users of a worker's running attempts: one user shared by all, or one of a range each. */
export class StepUserPool {
  readonly #users: StepUsers;
  readonly #free: number[] = [];
  /** Users given back with processes the sweep could not end: no attempt gets them until they are gone. */
  readonly #held = new Set<number>();
  /** Held users being swept now (out of {@link #held} meanwhile, so that two sweeps never give one out twice). */
  readonly #sweeping = new Set<number>();
  /** Sweeps the held users every `heldSweepMs` ({@link HELD_SWEEP_MS}) while there are any. */
  #heldSweeps: NodeJS.Timeout | undefined;
  /**
   * Told how many users are held back whenever that changes: the worker offers that many fewer
   * slots (the range has a user for every slot, and these are out of it), so that it is not sent
   * jobs it would give back.
   */
  onHeldChange: ((held: number) => void) | undefined;

  readonly #heldSweepMs: number;

  constructor(users: StepUsers, opts: { heldSweepMs?: number } = {}) {
    this.#users = users;
    this.#heldSweepMs = opts.heldSweepMs ?? HELD_SWEEP_MS;
    for (let i = 0; i < users.count; i++) this.#free.push(users.first.uid + i);
  }

  /**
   * The user for a new attempt; with a range, one no running attempt has, the one given back
   * longest ago (first in, first out). Throws when the range is used up.
   */
  acquire(): StepUser {
    if (this.#users.count === 1) return this.#users.first;
    const uid = this.#free.shift();
    if (uid === undefined) throw new Error(`all ${this.#users.count} users of WORKER_STEP_USER are taken by running attempts`);
    return { uid, gid: uid };
  }

  /**
   * Gives back the user of an attempt whose directory is gone. One whose sweep left processes
   * (`clean` false) is held back: another attempt, of any workspace, would share its uid with
   * them. A later sweep gives it out again once they are gone.
   */
  release(user: StepUser, clean = true): void {
    if (this.#users.count === 1) return;
    if (!clean) this.#hold(user.uid);
    else this.#giveOut(user.uid);
  }

  /** Holds `uid` back, and sweeps the held users on a timer until none is left. */
  #hold(uid: number): void {
    if (this.#held.has(uid)) return;
    this.#held.add(uid);
    this.onHeldChange?.(this.#heldCount);
    this.#heldSweeps ??= setInterval(() => void this.sweepHeld().catch(() => undefined), this.#heldSweepMs).unref();
  }

  /** Stops sweeping the held users on a timer (the worker stopped). */
  close(): void {
    clearInterval(this.#heldSweeps);
    this.#heldSweeps = undefined;
  }

  /** Puts `uid` back among the free users, once: two attempts must never be given one uid. */
  #giveOut(uid: number): void {
    if (!this.#free.includes(uid)) this.#free.push(uid);
  }

  /** Users held back by {@link release} (for metrics and tests). */
  get held(): readonly number[] {
    return [...this.#held, ...this.#sweeping];
  }

  get #heldCount(): number {
    return this.#held.size + this.#sweeping.size;
  }

  /**
   * Kills what still runs as `user` when its attempt ends, if the user is the attempt's own (a
   * range): a process that left its step's group and session (`setsid`) is out of the step's
   * reach, and would otherwise outlive its attempt and share its uid with the next one. A user
   * shared by every attempt cannot be swept: its other processes belong to other jobs.
   *
   * The kill is `kill(-1, SIGKILL)` from a process of that user (a shell's builtin `kill`): the
   * kernel signals every process the user has in one pass, which no process escapes by forking,
   * as it could escape a scan of `/proc` followed by a signal to each pid found. Until no process
   * of the user is left (a process forked just before the pass, at most a few rounds).
   *
   * A user at its process limit (`RLIMIT_NPROC`, a pod's pids limit) cannot start that shell;
   * the scan of `/proc` and a signal to each process found, which need no new process, then do
   * the work. Resolves true when no process of the user is left.
   *
   * Then, whatever happened, what the user left in the machine's shared temporary directories
   * (`/tmp`, `/var/tmp`, `/dev/shm`: a tool that ignores `TMPDIR`) is removed, so that the next
   * attempt given this user, of any workspace, finds nothing of this one. Users held back
   * earlier are swept again too, and given out again once nothing of theirs runs.
   */
  async sweep(user: StepUser): Promise<boolean> {
    if (this.#users.count === 1) return true;
    await this.sweepHeld();
    return this.#sweepOnce(user);
  }

  /**
   * Sweeps the users held back, and gives out again each that has nothing left running. Each is
   * taken out of the held set while its sweep runs, so that sweeps at the same time never give
   * one out twice. Runs after every attempt's sweep, and on a timer while users are held (a
   * worker whose every slot is withheld ends no attempt).
   */
  async sweepHeld(): Promise<void> {
    for (const uid of [...this.#held]) {
      if (!this.#held.delete(uid)) continue;
      this.#sweeping.add(uid);
      // A sweep that fails finds nothing gone: the user stays held, never lost to both sets.
      const gone = await this.#sweepOnce({ uid, gid: uid }).catch(() => false);
      this.#sweeping.delete(uid);
      if (!gone) {
        this.#held.add(uid);
        continue;
      }
      this.#giveOut(uid);
      this.onHeldChange?.(this.#heldCount);
    }
    if (this.#heldCount === 0) this.close();
  }

  async #sweepOnce(user: StepUser): Promise<boolean> {
    let left: number[] = [];
    try {
      for (let round = 0; round < SWEEP_ROUNDS; round++) {
        await killEveryProcessOf(user).catch(() => undefined);
        left = await processesOfUser(user.uid);
        if (left.length === 0) break;
        signalEach(left, 'SIGKILL');
      }
      // The last round's signals take a moment to land.
      for (let wait = 0; left.length > 0 && wait < 10; wait++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        left = await processesOfUser(user.uid);
      }
    } finally {
      await Promise.all(SHARED_TMP.map((dir) => removeOwnedBy(dir, user.uid)));
    }
    return left.length === 0;
  }
}

/**
 * Makes the work root reachable by `user` (adds search permission for group and others) and
 * proves that a process of that user can start in it. Throws with the reason when it cannot,
 * so a worker that would fail every COMMAND step does not start.
 */
export async function prepareWorkRoot(root: string, user: StepUser | undefined): Promise<void> {
  if (user === undefined) return;
  const { mode } = await stat(root);
  if ((mode & 0o011) !== 0o011) await chmod(root, (mode & 0o7777) | 0o011);
  const error = await new Promise<string | undefined>((resolve) => {
    // The child changes directory after it changed user, so every directory on the way is checked.
    const probe = spawn(process.execPath, ['-e', 'process.chdir(process.argv[1])', root], { cwd: '/', uid: user.uid, gid: user.gid, env: {}, stdio: 'ignore' });
    probe.once('error', (err) => resolve(err.message));
    probe.once('exit', (code, signal) => resolve(code === 0 ? undefined : `a process of that user cannot enter it (${signal ?? `exit code ${code}`})`));
  });
  if (error !== undefined) {
    throw new Error(`job processes cannot run as ${user.uid}:${user.gid} in WORKER_WORK_DIR ${root}: ${error} (see WORKER_STEP_USER)`);
  }
}
