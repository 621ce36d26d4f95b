/**
 * Starts a Gantry service as a real child process (`tsx src/main.ts` in its package), reads
 * its JSON log lines, and stops it with a signal. Tests that kill processes use this.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const SERVICES_DIR = fileURLToPath(new URL('../../../services/', import.meta.url));

export interface ServiceProcess {
  readonly child: ChildProcess;
  /** Every JSON log line so far. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the first log line `match` accepts (rejects after `timeoutMs` or on exit). */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Sends `signal` and resolves with the exit code (or the signal's name). */
  stop(signal?: NodeJS.Signals): Promise<number | string>;
}

/** Options of {@link startService}. */
export interface StartServiceOptions {
  /** Extra arguments for `node` before the entry, e.g. `--cpu-prof`. */
  readonly nodeArgs?: readonly string[];
}

/** Spawns `services/<service>` with `env` added to the parent's environment. */
export function startService(service: string, env: Record<string, string>, opts: StartServiceOptions = {}): ServiceProcess {
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), '--import', 'tsx', 'src/main.ts'], {
    cwd: `${SERVICES_DIR}${service}`,
    // eslint-disable-next-line no-restricted-properties -- the child inherits PATH and friends
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Record<string, unknown>[] = [];
  const waiters = new Set<(line: Record<string, unknown>) => void>();
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4_000);
  });
  createInterface({ input: child.stdout! }).on('line', (text) => {
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
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });

  return {
    child,
    logs,
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
          reject(new Error(`${service}: no matching log line within ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        waiters.add(waiter);
        void exited.then((code) => {
          done();
          reject(new Error(`${service} exited (${code}) before the expected log line; stderr: ${stderr}`));
        });
      });
    },
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}
