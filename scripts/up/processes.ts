/**
 * The services `up` runs, each a child process (`node <its node flags> --import tsx services/<name>/src/main.ts`)
 * with the shared environment plus its own; each stops by itself if `up` dies. Their JSON log
 * lines are relayed: warnings and errors always, everything with `--verbose`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { serviceNodeFlags } from '@gantry/testkit';
import type { Started } from './dependencies.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** A running service. */
export interface ServiceChild extends Started {
  readonly child: ChildProcess;
  /** Resolves with the first log line `match` accepts. */
  waitForLog(match: (line: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

const SEVERE = new Set(['warn', 'error', 'fatal']);

export function startServiceProcess(
  label: string,
  service: string,
  env: Record<string, string>,
  relay: (label: string, line: Record<string, unknown>) => void,
): ServiceChild {
  const child = spawn(process.execPath, [...serviceNodeFlags(service), '--import', 'tsx', `services/${service}/src/main.ts`], {
    cwd: ROOT,
    // Its standard input is a pipe from `up`: if `up` dies without stopping it (killed, its
    // terminal closed), the pipe closes and the service stops (STOP_ON_STDIN_EOF).
    env: { ...process.env, STOP_ON_STDIN_EOF: 'true', ...env },
    stdio: ['pipe', 'pipe', 'inherit'],
    // Its own process group: a Ctrl-C in the terminal reaches `up` alone, which then stops the
    // services one by one, each gracefully, instead of all at once.
    detached: true,
  });
  const waiters = new Set<(line: Record<string, unknown>) => void>();
  createInterface({ input: child.stdout! }).on('line', (text) => {
    let line: Record<string, unknown>;
    try {
      line = JSON.parse(text) as Record<string, unknown>;
    } catch {
      line = { level: 'info', msg: text };
    }
    relay(label, line);
    for (const w of waiters) w(line);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name: label,
    child,
    waitForLog(match, timeoutMs = 60_000) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`${label} did not log what was expected within ${timeoutMs} ms`));
        }, timeoutMs);
        const waiter = (line: Record<string, unknown>) => {
          if (!match(line)) return;
          clearTimeout(timer);
          waiters.delete(waiter);
          resolve(line);
        };
        waiters.add(waiter);
        void exited.then(() => {
          clearTimeout(timer);
          reject(new Error(`${label} exited before it was ready`));
        });
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** Relays severe lines (all lines when `verbose`) as `[label] level msg`. */
export function relayTo(write: (text: string) => void, verbose: boolean) {
  return (label: string, line: Record<string, unknown>) => {
    const level = String(line.level ?? 'info');
    if (!verbose && !SEVERE.has(level)) return;
    write(`[${label}] ${level} ${String(line.msg ?? '')}${line.err ? ` ${JSON.stringify(line.err)}` : ''}`);
  };
}
