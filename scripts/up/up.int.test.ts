import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import { names } from '@gantry/contracts';
import { answers, connectNats, createLogger, deleteNamespace, loadConfig } from '@gantry/runtime';
import { databaseUrl, dropDatabase, freePort, randomNamespace } from '@gantry/testkit';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const cleanups: (() => Promise<void>)[] = [];

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});


/** Runs what `npm run up` runs (`scripts/up.sh`) with `env`. */
function up(env: Record<string, string>) {
  // Its own process group, like a terminal's foreground job: Ctrl-C reaches npm, its shell and `up`.
  const child: ChildProcess = spawn('bash', ['scripts/up.sh'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let output = '';
  child.stdout!.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    output: () => output,
    async until(text: string, timeoutMs = 180_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      while (!output.includes(text)) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`\`npm run up\` did not print ${JSON.stringify(text)}:\n${output}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    /** Ctrl-C, as in a terminal; resolves with the exit code. */
    async interrupt(): Promise<number | null> {
      process.kill(-child.pid!, 'SIGINT');
      return exited;
    },
    child,
  };
}

async function dropNamespace(namespace: string): Promise<void> {
  const nc = await connectNats(loadConfig(), { name: 'up-test', logger: createLogger({ service: 'test', version: '0', level: 'silent' }) });
  await deleteNamespace(await jetstreamManager(nc), names(namespace));
  await nc.close();
}

describe('npm run up', () => {
  it('reaches a completed demo job on the machine’s servers, stops on Ctrl-C, and reuses what exists the second time', async () => {
    const namespace = randomNamespace();
    const database = `gantry_up_${namespace}`;
    const stateDir = mkdtempSync(join(tmpdir(), 'gantry-up-'));
    cleanups.push(async () => rmSync(stateDir, { recursive: true, force: true }), () => dropDatabase(database), () => dropNamespace(namespace));
    const env = { GANTRY_NAMESPACE: namespace, DATABASE_URL: databaseUrl(database), PORT: String(await freePort()), GANTRY_STATE_DIR: stateDir };

    const first = up(env);
    await first.until('COMPLETED');
    expect(first.output()).toMatch(/token\s+gantry_\S+\s+\(new\)/);
    expect(first.output()).toContain('"hello from Gantry"');
    expect(await first.interrupt()).toBe(0);

    const second = up(env);
    await second.until('COMPLETED');
    expect(second.output()).toMatch(/token\s+gantry_\S+\s+\(reused\)/);
    expect(second.output()).toContain('the schema is up to date');
    expect(await second.interrupt()).toBe(0);
  });

  it('starts an embedded PostgreSQL when none answers, and stops it with everything else', async () => {
    const namespace = randomNamespace();
    const stateDir = mkdtempSync(join(tmpdir(), 'gantry-up-'));
    cleanups.push(async () => rmSync(stateDir, { recursive: true, force: true }), () => dropNamespace(namespace));
    const pgPort = await freePort();
    const port = await freePort();
    // A worker hands its running job back at once when it stops: a write that needs PostgreSQL.
    const env = { GANTRY_NAMESPACE: namespace, DATABASE_URL: `postgres://postgres@127.0.0.1:${pgPort}/gantry`, PORT: String(port), GANTRY_STATE_DIR: stateDir, WORKER_DRAIN_GRACE_MS: '0' };
    const run = up(env);
    await run.until('COMPLETED');
    expect(run.output()).toContain('starting an embedded one');
    expect(await answers('127.0.0.1', pgPort)).toBe(true);
    const token = /token {10}(\S+)/.exec(run.output())![1]!;
    const api = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${port}${path}`, { ...init, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } });
    const submitted = await api('/runner-jobs', { method: 'POST', body: JSON.stringify({ type: 'held', steps: [{ name: 'wait', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['sleep', '60'] } }] }) });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    const deadline = Date.now() + 30_000;
    while (((await (await api(`/runner-jobs/${id}`)).json()) as { status: string }).status !== 'RUNNING') {
      if (Date.now() > deadline) throw new Error('the job never ran');
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await run.interrupt()).toBe(0);
    expect(await answers('127.0.0.1', pgPort)).toBe(false);
    const shutdown = run.output().slice(run.output().indexOf('stopping…'));
    // Ctrl-C reaches only `up`, which stops the services (the worker's hand-back written) before
    // the PostgreSQL they write to.
    expect(shutdown).not.toMatch(/error|did not stop cleanly|still open after stop/i);
  });
});
