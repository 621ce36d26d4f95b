import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import { createTestDatabase } from './database.js';
import { createTestNamespace } from './nats.js';
import { type Proc, startProcess } from './process.js';

const HOLDER = fileURLToPath(new URL('./fixtures/service-holder.ts', import.meta.url));

/** True while `pid` runs; a zombie (ended, not yet reaped by its new parent) counts as gone. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

describe('a service started by startService', () => {
  it('stops on its own when the process that started it is killed', { timeout: 90_000 }, async () => {
    const db = await createTestDatabase(inject('gantryTemplateDatabase'));
    const ns = await createTestNamespace({ provision: true });
    let holder: Proc | undefined;
    let pid: number | undefined;
    try {
      holder = startProcess('holder', process.execPath, ['--import', 'tsx', HOLDER], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        // eslint-disable-next-line no-restricted-properties -- the holder passes PATH and friends to the worker
        env: { ...(process.env as Record<string, string>), DATABASE_URL: db.url, GANTRY_NAMESPACE: ns.namespace, METRICS_PORT: '0', LOG_LEVEL: 'warn' },
      });
      const line = await holder.waitForLog((l) => typeof l.pid === 'number', 60_000);
      pid = line.pid as number;
      expect(alive(pid)).toBe(true);
      // No chance to clean up: the kernel closes the holder's end of the worker's stdin.
      holder.child.kill('SIGKILL');
      await holder.exited;
      const deadline = Date.now() + 30_000;
      while (alive(pid) && Date.now() < deadline) await delay(50);
      expect(alive(pid)).toBe(false);
    } finally {
      holder?.child.kill('SIGKILL');
      if (pid !== undefined && alive(pid)) process.kill(pid, 'SIGKILL');
      await ns.cleanup();
      // Fails if the worker left a PostgreSQL connection open.
      await db.drop();
    }
  });
});
