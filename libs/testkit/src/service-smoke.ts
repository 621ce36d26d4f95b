/**
 * The smoke test every service passes: started as a real process against the real PostgreSQL
 * and NATS, it becomes ready, serves its metrics, and exits 0 on SIGTERM.
 */
import { expect } from 'vitest';
import { startService } from './process.js';

export interface SmokeResult {
  /** The body of `/readyz`. */
  readonly ready: { status: string; checks: { name: string; ok: boolean }[] };
  /** The body of `/metrics`. */
  readonly metrics: string;
}

/** Runs `service` with `env` (its port variable set to 0) and returns what it served. */
export async function smokeTestService(service: string, env: Record<string, string>): Promise<SmokeResult> {
  const proc = startService(service, env);
  try {
    const listening = await proc.waitForLog((l) => l.msg === 'health server listening');
    const base = `http://127.0.0.1:${String(listening.port)}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const readyz = await fetch(`${base}/readyz`);
    const ready = (await readyz.json()) as SmokeResult['ready'];
    expect(readyz.status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(await proc.stop('SIGTERM')).toBe(0);
    return { ready, metrics };
  } finally {
    await proc.stop('SIGKILL');
  }
}
