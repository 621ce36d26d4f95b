/**
 * Child processes for tests: `startProcess` spawns any command, keeps its JSON log lines (stdout)
 * and the tail of its output, waits for a log line, and stops it with a signal; `startService`
 * starts a Gantry service from its sources (`tsx src/main.ts` in its package). Tests that kill
 * processes, and the deploy checks that run the built image, use these.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVICES_DIR = fileURLToPath(new URL('../../../services/', import.meta.url));

/** A started process. */
export interface Proc {
  readonly child: ChildProcess;
  /** JSON log lines (stdout) so far; non-JSON lines as `{ msg }`. */
  readonly logs: Record<string, unknown>[];
  /** The last 8 KiB of stdout and stderr. */
  output(): string;
  /** Resolves with the first log line `match` accepts; rejects after `timeoutMs` or on exit. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Resolves with the exit code, or the signal's name. */
  readonly exited: Promise<number | string>;
  /** Sends `signal` unless the process has exited; resolves with how it exited. */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Options of {@link startProcess}. */
export interface StartOptions {
  readonly cwd: string;
  /** The whole environment of the process (nothing is inherited). */
  readonly env: Record<string, string>;
  readonly uid?: number;
  readonly gid?: number;
  /**
   * `'pipe'`: the process's standard input is a pipe this process holds open and never writes:
   * it ends when this process exits, however it exits (a service started with
   * `STOP_ON_STDIN_EOF=true` then stops). Default `'ignore'`.
   */
  readonly stdin?: 'pipe' | 'ignore';
}

/** Spawns `file args…`. */
export function startProcess(name: string, file: string, args: readonly string[], opts: StartOptions): Proc {
  const child = spawn(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    stdio: [opts.stdin ?? 'ignore', 'pipe', 'pipe'],
    ...(opts.uid === undefined ? {} : { uid: opts.uid, gid: opts.gid ?? opts.uid }),
  });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<(line: Record<string, unknown>) => void>();
  let tail = '';
  const keep = (text: string) => {
    tail = (tail + text).slice(-8_192);
  };
  child.stderr!.on('data', (chunk: Buffer) => keep(chunk.toString()));
  createInterface({ input: child.stdout! }).on('line', (text) => {
    keep(`${text}\n`);
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { msg: text };
    }
    logs.push(line);
    for (const w of waiters) w(line);
  });
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => {
      keep(String(err));
      resolve('spawn-error');
    });
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });

  return {
    child,
    logs,
    exited,
    output: () => tail,
    waitForLog(match, timeoutMs = 30_000) {
      const seen = logs.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          waiters.delete(waiter);
        };
        const waiter = (line: Record<string, unknown>) => {
          if (!match(line)) return;
          done();
          resolve(line);
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`${name}: no matching log line within ${timeoutMs} ms; output:\n${tail}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then((code) => {
          done();
          reject(new Error(`${name} exited (${code}) before the expected log line; output:\n${tail}`));
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

/** A Gantry service started by {@link startService}. */
export type ServiceProcess = Proc;

/** Options of {@link startService}. */
export interface StartServiceOptions {
  /** Extra arguments for `node` before the entry, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
  /** A command that runs `node` as its last arguments, e.g. `['setpriv', '--bounding-set', …, '--']`. */
  readonly launcher?: readonly string[];
}

/**
 * The `node` flags a service runs with (`gantry.nodeFlags` in its package.json): every launcher
 * passes them — `startService`, `npm run up` — and the Kubernetes manifests set them in
 * `NODE_OPTIONS` (deploy/src/k8s.test.ts checks that they do).
 */
export function serviceNodeFlags(service: string): string[] {
  const manifest = JSON.parse(readFileSync(`${SERVICES_DIR}${service}/package.json`, 'utf8')) as { gantry?: { nodeFlags?: string[] } };
  return manifest.gantry?.nodeFlags ?? [];
}

/**
 * Spawns `services/<service>` from its sources with `env` added to the parent's environment. The
 * service stops when this process ends, even by a kill or a test runner's timeout: its standard
 * input is a pipe from here (`STOP_ON_STDIN_EOF`), which the kernel closes.
 */
export function startService(service: string, env: Record<string, string>, opts: StartServiceOptions = {}): ServiceProcess {
  const node = [process.execPath, ...serviceNodeFlags(service), ...(opts.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'];
  const [file, ...args] = [...(opts.launcher ?? []), ...node] as [string, ...string[]];
  return startProcess(service, file, args, {
    cwd: `${SERVICES_DIR}${service}`,
    // eslint-disable-next-line no-restricted-properties -- the child inherits PATH and friends
    env: { ...(process.env as Record<string, string>), LOG_LEVEL: 'info', STOP_ON_STDIN_EOF: 'true', ...env },
    stdin: 'pipe',
  });
}
