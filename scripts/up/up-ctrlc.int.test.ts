/**
 * `npm run up` started nats-server (when none answered) in its own process group, so Ctrl-C in
 * the terminal reached it at once: NATS went away while the services were still stopping one by
 * one, each losing it mid-shutdown ("nats disconnected", "did not stop cleanly"). It is now
 * detached, and stopped after the services.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { answers } from '@gantry/runtime';
import { databaseUrl, dropDatabase, freePort, randomNamespace } from '@gantry/testkit';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe('npm run up with the nats-server it starts itself', () => {
  it('Ctrl-C stops every service gracefully, before the nats-server they use', async () => {
    const namespace = randomNamespace();
    const database = `gantry_up_${namespace}`;
    const stateDir = mkdtempSync(join(tmpdir(), 'gantry-up-'));
    const natsPort = await freePort();
    cleanups.push(async () => rmSync(stateDir, { recursive: true, force: true }), () => dropDatabase(database));
    const env = {
      GANTRY_NAMESPACE: namespace,
      DATABASE_URL: databaseUrl(database),
      // Nothing answers here: `up` starts `nats-server -js` from the PATH.
      NATS_URL: `nats://127.0.0.1:${natsPort}`,
      PORT: String(await freePort()),
      GANTRY_STATE_DIR: stateDir,
    };
    // Its own process group, like a terminal's foreground job (as up.int.test.ts does).
    const child: ChildProcess = spawn('bash', ['scripts/up.sh', '--no-demo'], { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(async () => {
      if (child.exitCode === null && child.signalCode === null) {
        process.kill(-child.pid!, 'SIGKILL');
        await exited;
      }
    });
    const deadline = Date.now() + 180_000;
    while (!output.includes('running; Ctrl-C stops everything')) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`up did not start:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(output).toContain('starting /');
    expect(await answers('127.0.0.1', natsPort)).toBe(true);

    // Ctrl-C in the terminal: SIGINT to the foreground process group.
    process.kill(-child.pid!, 'SIGINT');
    expect(await exited).toBe(0);
    expect(await answers('127.0.0.1', natsPort)).toBe(false);
    const shutdown = output.slice(output.indexOf('stopping…'));
    // README: "Ctrl-C stops everything it started, each service gracefully". The services must
    // not lose their NATS server while they drain.
    expect(shutdown).not.toMatch(/nats disconnected|did not stop cleanly|still open after stop/);
  });
});
