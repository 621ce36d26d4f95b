/**
 * Child processes in their own process group. A step's command is spawned detached (its own
 * session and process group, led by the command), so that one signal reaches every process it
 * started: on cancel or timeout the group gets SIGTERM, then SIGKILL after a grace period.
 *
 * Invariants:
 * - when the command's main process exits, processes it left in its group or its session (a
 *   background job of a shell with job control has a group of its own) are terminated the same
 *   way (SIGTERM, then SIGKILL);
 * - `done` resolves once the main process exited, its output pipes closed and the leftovers of
 *   its group and session are gone (at most `killGraceMs` + 1 s after they were signalled), or
 *   at most `killGraceMs` + 1 s after the exit, or after a SIGKILL, if a process that escaped the
 *   group and the session (`setsid`) still holds the pipes: such a process is out of the step's
 *   reach here, and is killed when its attempt's user is given back, for a user of its own
 *   (`StepUserPool.sweep`);
 * - every group still alive is registered in a {@link ProcessGroups}, which the worker kills
 *   when it stops.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { constants } from 'node:os';
import { processesWhere, signalEach, startTimeOf } from './procfs.js';
import type { StepUser } from './step-user.js';

/** How a process ended. */
export interface ProcessExit {
  readonly pid: number | undefined;
  /** The main process's exit code; null when a signal ended it or it never started. */
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Set when the process could not be started (ENOENT, EACCES, …). */
  readonly spawnError?: Error;
}

/** A running process group. */
export interface GroupProcess {
  readonly pid: number | undefined;
  /** See the module doc. */
  readonly done: Promise<ProcessExit>;
  /** SIGTERM to the group, SIGKILL after `graceMs` if any member is left. Idempotent. */
  terminate(graceMs: number): void;
}

/** The process groups of running steps, killed together when the worker stops. */
export class ProcessGroups {
  /** Group id → the step that registered it: a later step given the same id registers it anew. */
  readonly #alive = new Map<number, object>();
  add(pgid: number, owner: object): void {
    this.#alive.set(pgid, owner);
  }
  /** Forgets `pgid` if `owner` still holds it. */
  delete(pgid: number, owner: object): void {
    if (this.#alive.get(pgid) === owner) this.#alive.delete(pgid);
  }
  /** Group ids registered now. */
  get size(): number {
    return this.#alive.size;
  }
  /** Sends `signal` to every registered group. */
  killAll(signal: NodeJS.Signals = 'SIGKILL'): void {
    for (const pgid of this.#alive.keys()) killGroup(pgid, signal);
  }
}

/** Sends `signal` to process group `pgid`; a group that is gone is ignored. */
export function killGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The live processes of session `sid` (from `/proc/<pid>/stat`). */
function sessionMembers(sid: number): Promise<number[]> {
  return processesWhere('stat', (stat) => {
    // `pid (comm) state ppid pgrp session …`: the fields after the name's last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[3]) === sid && fields[0] !== 'Z';
  });
}

/** The shell convention for a process ended by `signal`: 128 + its number. */
export function exitCodeOf(exit: Pick<ProcessExit, 'code' | 'signal'>): number | null {
  if (exit.code !== null) return exit.code;
  if (exit.signal === null) return null;
  const n = constants.signals[exit.signal];
  return n === undefined ? null : 128 + n;
}

/**
 * Resolves once no process of the session `pgid` leads (its group among them) is left, or after
 * `maxMs`; at once when the id may name someone else's group now (`stillOurs` false).
 */
async function untilGone(pgid: number, stillOurs: () => boolean, maxMs: number): Promise<void> {
  const deadline = Date.now() + maxMs;
  while (Date.now() < deadline && stillOurs()) {
    // The session holds the group (the command leads both); zombies, which an init that does
    // not reap may keep for ever, are not counted, as `kill(-pgid, 0)` would count them.
    if ((await sessionMembers(pgid)).length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Options of {@link spawnGroup}. */
export interface SpawnGroupOptions {
  readonly cwd: string;
  readonly env: Readonly<Record<string, string>>;
  /** The user and group the process runs as; default the worker's. */
  readonly user?: StepUser | undefined;
  readonly onOutput: (stream: 'stdout' | 'stderr', chunk: Buffer) => void;
  /** Grace between SIGTERM and SIGKILL for leftovers after the main process exits. */
  readonly killGraceMs: number;
  readonly groups: ProcessGroups;
}

/** Spawns `argv` (no shell) as the leader of a new process group. */
export function spawnGroup(argv: readonly string[], opts: SpawnGroupOptions): GroupProcess {
  const [file, ...args] = argv;
  let child: ChildProcess;
  try {
    child = spawn(file!, args, {
      cwd: opts.cwd,
      env: { ...opts.env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(opts.user ? { uid: opts.user.uid, gid: opts.user.gid } : {}),
    });
  } catch (err) {
    const spawnError = err instanceof Error ? err : new Error(String(err));
    return { pid: undefined, done: Promise.resolve({ pid: undefined, code: null, signal: null, spawnError }), terminate: () => {} };
  }
  const pid = child.pid;
  const owner = {};
  if (pid !== undefined) opts.groups.add(pid, owner);
  // The pid names this command's group and session until the group is gone; then the kernel
  // may give it to another process, another step's command among them, which must not get the
  // signals meant for this one. While the leader lives its start time says it is the same.
  const startedAt = pid === undefined ? undefined : startTimeOf(pid);
  const stillOurs = () => {
    const now = startTimeOf(pid!);
    return now === undefined || now === startedAt;
  };
  let terminating = false;
  let giveUp: NodeJS.Timeout | undefined;

  // Once nothing more can be waited for: the pipes are closed, which ends the wait for them.
  const armGiveUp = (afterMs: number) => {
    clearTimeout(giveUp);
    giveUp = setTimeout(() => {
      child.stdout?.destroy();
      child.stderr?.destroy();
    }, afterMs);
  };

  // The group and the rest of the session (the command leads both: it was spawned detached).
  const terminate = (graceMs: number) => {
    if (terminating || pid === undefined) return;
    terminating = true;
    if (stillOurs()) {
      killGroup(pid, 'SIGTERM');
      void sessionMembers(pid).then((members) => {
        if (stillOurs()) signalEach(members, 'SIGTERM');
      });
    }
    setTimeout(() => {
      if (stillOurs()) {
        if (killGroup(pid, 0)) killGroup(pid, 'SIGKILL');
        void sessionMembers(pid).then((members) => {
          if (stillOurs()) signalEach(members, 'SIGKILL');
        });
      }
      opts.groups.delete(pid, owner);
      armGiveUp(1_000);
    }, graceMs);
  };

  const done = new Promise<ProcessExit>((resolve) => {
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    /** Settles once the leftovers at the command's exit are known (and their ending begun). */
    let leftoversChecked: Promise<void> = Promise.resolve();
    // First: a spawn that fails (no such file, too many open files) reports it here, on the
    // next tick. Out of file descriptors, Node returns without the pipes, and an 'error' with no
    // listener would end the worker and every job it runs.
    child.once('error', (spawnError) => {
      if (pid === undefined) resolve({ pid, code: null, signal: null, spawnError });
    });
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      if (pid === undefined) return;
      // A process that left the group and the session may hold the pipes for ever.
      if (!terminating) armGiveUp(opts.killGraceMs + 1_000);
      if (killGroup(pid, 0)) terminate(opts.killGraceMs);
      else {
        leftoversChecked = sessionMembers(pid).then((members) => {
          if (members.length > 0) terminate(opts.killGraceMs);
        });
      }
    });
    child.once('close', (code, signal) => {
      clearTimeout(giveUp);
      if (pid !== undefined && !terminating) opts.groups.delete(pid, owner);
      const settled = { pid, code: exit?.code ?? code, signal: exit?.signal ?? signal };
      // A leftover that let go of the pipes and ignores SIGTERM lives until the SIGKILL after the
      // grace: the command is done when it is gone too, not before, so that the next step, or
      // the removal of the job directory, does not run beside it.
      // The session's other groups are found by a scan of /proc that may still run: its answer
      // decides whether there is anything to wait for.
      void leftoversChecked.then(async () => {
        if (terminating && pid !== undefined) await untilGone(pid, stillOurs, opts.killGraceMs + 1_000);
        resolve(settled);
      });
    });
  });
  child.stdout?.on('data', (chunk: Buffer) => opts.onOutput('stdout', chunk));
  child.stderr?.on('data', (chunk: Buffer) => opts.onOutput('stderr', chunk));
  return { pid, done, terminate };
}
