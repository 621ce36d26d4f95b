/**
 * What the fault tests do to processes and how they wait: stop a service whatever state it is
 * in (even frozen), read a process's resident memory, poll a condition with a generous bound.
 */
import { readFile } from 'node:fs/promises';
import type { ServiceProcess } from '@gantry/testkit';

/** Grace a stopping service gets between SIGTERM and SIGKILL. */
export const STOP_GRACE_MS = 10_000;

function running(p: ServiceProcess): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/**
 * Stops `p`: SIGCONT (in case a test froze it), SIGTERM, and SIGKILL after
 * {@link STOP_GRACE_MS}. Resolves once it has exited; never rejects.
 */
export async function stopProcess(p: ServiceProcess): Promise<void> {
  if (!running(p)) return;
  p.child.kill('SIGCONT');
  const timer = setTimeout(() => p.child.kill('SIGKILL'), STOP_GRACE_MS);
  try {
    await p.stop('SIGTERM');
  } catch {
    // exited already
  } finally {
    clearTimeout(timer);
  }
}

/** `kill -9`: resolves once the process has exited. */
export async function killHard(p: ServiceProcess): Promise<void> {
  await p.stop('SIGKILL');
}

/**
 * Polls `check` every 100 ms until it resolves true; a check that throws (a server being down)
 * counts as false. Rejects with `what` after `timeoutMs`.
 */
export async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`${what} within ${timeoutMs} ms${cause}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Resident set size of process `pid` in bytes (Linux `/proc`), or undefined when it is gone. */
export async function rssBytes(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}
