/**
 * Where a scenario's CPU went, read from Linux's `/proc`: the cluster's own service processes
 * (by pid), PostgreSQL (every `postgres` process, with the time of backends that already exited
 * as their parent's children time) and nats-server, against the whole machine's busy and idle
 * time. This is how `docs/performance.md` says which of Gantry, PostgreSQL and NATS limits a
 * run. On a machine without `/proc`, or with the servers elsewhere, the figures it cannot read
 * are absent.
 *
 * `/proc/<pid>/stat` counts in ticks of 10 ms, which suits a run of seconds. A window of tens of
 * milliseconds (one burst of `priority`) is read from the kernel scheduler's own account of
 * each thread's run time instead (`/proc/<pid>/task/<tid>/schedstat`, nanoseconds): see
 * {@link runTimeSnapshot}.
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

/** CPU ticks at one instant. */
export interface CpuSnapshot {
  readonly byName: ReadonlyMap<string, number>;
  readonly byPid: ReadonlyMap<number, number>;
  readonly machineBusy: number;
  readonly machineIdle: number;
}

/** Seconds of CPU between two snapshots. */
export interface CpuUse {
  /** The services, by the names given to {@link cpuSince}. */
  readonly services: Record<string, number>;
  readonly postgres?: number;
  readonly natsServer?: number;
  /** Busy share of all cores over the interval, 0–1. */
  readonly machineBusy?: number;
  /** Other servers, by the keys given to {@link cpuSince} (their processes by name). */
  readonly servers?: Record<string, number>;
}

/** The name and CPU ticks (own; exited children) of one `/proc/<pid>/stat` line. */
export function processTicks(stat: string): { name: string; own: number; children: number } | undefined {
  // `pid (comm) state …`: the name may hold spaces and parentheses; fields follow the last ')'.
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  const name = stat.slice(stat.indexOf('(') + 1, close);
  const fields = stat.slice(close + 2).split(' ');
  // utime, stime, cutime, cstime are fields 14–17 of the line, 12–15 after the name.
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i]));
  return { name, own: utime! + stime!, children: cutime! + cstime! };
}

/** The pids under `/proc` (as its entries name them); none without `/proc`. */
function processEntries(): string[] {
  try {
    return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
}

/** Reads every process's CPU ticks and the machine's. */
export function cpuSnapshot(): CpuSnapshot {
  const byName = new Map<string, number>();
  const byPid = new Map<number, number>();
  for (const entry of processEntries()) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const t = processTicks(stat);
    if (!t) continue;
    byPid.set(Number(entry), t.own);
    // A server's exited children (PostgreSQL's backends) count as the server's.
    byName.set(t.name, (byName.get(t.name) ?? 0) + t.own + t.children);
  }
  let machineBusy = 0;
  let machineIdle = 0;
  try {
    const [, user, nice, system, idle, iowait, irq, softirq, steal] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).map(Number);
    machineBusy = user! + nice! + system! + irq! + softirq! + steal!;
    machineIdle = idle! + iowait!;
  } catch {
    // no /proc/stat: leave the machine's share out
  }
  return { byName, byPid, machineBusy, machineIdle };
}

/** CPU used since `before` by the named service pids, PostgreSQL, nats-server and `servers` (key → process name). */
export function cpuSince(
  before: CpuSnapshot,
  services: Readonly<Record<string, number | undefined>>,
  servers: Readonly<Record<string, string>> = {},
): CpuUse {
  const after = cpuSnapshot();
  const seconds = (ticks: number) => Math.round((ticks / TICKS_PER_SECOND) * 10) / 10;
  const named = (name: string) => {
    const a = after.byName.get(name);
    const b = before.byName.get(name);
    return a === undefined || b === undefined ? undefined : seconds(a - b);
  };
  const out: Record<string, number> = {};
  for (const [service, pid] of Object.entries(services)) {
    const a = pid === undefined ? undefined : after.byPid.get(pid);
    const b = pid === undefined ? undefined : before.byPid.get(pid);
    if (a !== undefined && b !== undefined) out[service] = seconds(a - b);
  }
  const others: Record<string, number> = {};
  for (const [key, name] of Object.entries(servers)) {
    const used = named(name);
    if (used !== undefined) others[key] = used;
  }
  const busy = after.machineBusy - before.machineBusy;
  const idle = after.machineIdle - before.machineIdle;
  return {
    services: out,
    ...(Object.keys(servers).length === 0 ? {} : { servers: others }),
    ...(named('postgres') === undefined ? {} : { postgres: named('postgres') }),
    ...(named('nats-server') === undefined ? {} : { natsServer: named('nats-server') }),
    ...(busy + idle > 0 ? { machineBusy: Math.round((busy / (busy + idle)) * 100) / 100 } : {}),
  };
}

/** Nanoseconds each process has run so far (its threads summed), by pid and by process name. */
export interface RunTimeSnapshot {
  readonly byPid: ReadonlyMap<number, number>;
  readonly byName: ReadonlyMap<string, number>;
}

/** The run time of a `/proc/<pid>/task/<tid>/schedstat` line: its first field, in nanoseconds. */
export function schedstatRunNs(line: string): number {
  return Number(line.slice(0, line.indexOf(' ')));
}

/** The servers {@link runTimeBetween} reports by name, whatever their pids. */
const SERVERS = new Set(['postgres', 'nats-server']);

/**
 * Reads the run time of the processes of `pids` and of every PostgreSQL and nats-server process,
 * exact to the nanosecond; the threads of other processes are not read (on the fourteenth
 * session's host a snapshot of every thread took 5–6 ms of CPU, this one about 3). A process that exits
 * between two snapshots takes its time with it, so measure windows in which the processes that
 * matter live on (a pool's PostgreSQL backends do).
 */
export function runTimeSnapshot(pids: readonly (number | undefined)[] = []): RunTimeSnapshot {
  const wanted = new Set(pids);
  const byPid = new Map<number, number>();
  const byName = new Map<string, number>();
  for (const entry of processEntries()) {
    try {
      const pid = Number(entry);
      const name = readFileSync(`/proc/${entry}/comm`, 'utf8').trimEnd();
      if (!wanted.has(pid) && !SERVERS.has(name)) continue;
      let ns = 0;
      for (const tid of readdirSync(`/proc/${entry}/task`)) ns += schedstatRunNs(readFileSync(`/proc/${entry}/task/${tid}/schedstat`, 'utf8'));
      byPid.set(pid, ns);
      byName.set(name, (byName.get(name) ?? 0) + ns);
    } catch {
      continue; // gone meanwhile
    }
  }
  return { byPid, byName };
}

/**
 * Milliseconds of CPU between two run-time snapshots: of each named group of pids, summed (a
 * missing pid, or one absent from either snapshot, counts for nothing; a group none of whose
 * pids counts is left out), of PostgreSQL's processes and of nats-server.
 */
export function runTimeBetween(
  before: RunTimeSnapshot,
  after: RunTimeSnapshot,
  groups: Readonly<Record<string, readonly (number | undefined)[]>>,
): Record<string, number> {
  const ms = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : (a - b) / 1e6);
  const out: Record<string, number> = {};
  const put = (key: string, value: number | undefined) => {
    if (value !== undefined) out[key] = value;
  };
  for (const [key, pids] of Object.entries(groups)) {
    const each = pids.map((pid) => (pid === undefined ? undefined : ms(after.byPid.get(pid), before.byPid.get(pid))));
    put(key, each.some((v) => v !== undefined) ? each.reduce<number>((n, v) => n + (v ?? 0), 0) : undefined);
  }
  put('postgres', ms(after.byName.get('postgres'), before.byName.get('postgres')));
  put('natsServer', ms(after.byName.get('nats-server'), before.byName.get('nats-server')));
  return out;
}
