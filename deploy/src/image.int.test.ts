/**
 * The container image, built and run without a Docker engine: deploy/Dockerfile's instructions
 * are carried out in scratch directories (src/image/emulate.ts: the same `npm ci`, bundle and
 * `npm ci --omit=dev` a `docker build` runs), and the result runs as the image's user (when the
 * tests run as root) against the machine's PostgreSQL and NATS: migrate a fresh database, make a
 * workspace and a token with the CLI, run a job through api, scheduler and worker, stop them.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminUrl, createTestNamespace, databaseUrl, type TestNamespace } from '@gantry/testkit';
import { type BuiltImage, emulateBuild } from './image/emulate.js';
import { deployPath, REPO_ROOT } from './paths.js';
import { type Proc, startProcess } from '@gantry/testkit';

/** The build's two `npm ci` runs take most of a minute on this machine. */
const BUILD_TIMEOUT_MS = 600_000;
/** A database name the testkit's janitor recognises (and removes if this run crashes). */
const DATABASE = `gantry_test_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;

let image: BuiltImage;
let scratch: string;
let home: string;
let ns: TestNamespace;
const started: Proc[] = [];

/** Runs `gantry <args…>` from the built image with `env`, as the image's user when we are root. */
function run(args: readonly string[], env: Record<string, string> = {}): Proc {
  const { file, args: argv, cwd } = image.command(args);
  const asImageUser = process.getuid?.() === 0 && image.user ? image.user : undefined;
  const proc = startProcess(`gantry ${args[0]}`, file, argv, {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, TMPDIR: home, ...image.env, LOG_LEVEL: 'info', ...env },
    ...(asImageUser ? { uid: asImageUser.uid, gid: asImageUser.gid } : {}),
  });
  started.push(proc);
  return proc;
}

/** Runs a command that ends; resolves with its exit and output. */
async function runToEnd(args: readonly string[], env: Record<string, string> = {}): Promise<{ code: number | string; proc: Proc }> {
  const proc = run(args, env);
  return { code: await proc.exited, proc };
}

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'gantry-image-'));
  const npmCache = process.env.npm_config_cache ?? execFileSync('npm', ['config', 'get', 'cache'], { cwd: tmpdir(), encoding: 'utf8' }).trim();
  image = await emulateBuild({ dockerfile: deployPath('Dockerfile'), context: REPO_ROOT, dir: scratch, npmCache });
  // The writable /tmp of the pod: the image's user must own it.
  home = join(scratch, 'tmp');
  mkdirSync(home);
  if (process.getuid?.() === 0 && image.user) chownSync(home, image.user.uid, image.user.gid);
  ns = await createTestNamespace();
}, BUILD_TIMEOUT_MS);

afterAll(async () => {
  await Promise.all(started.map((p) => p.stop('SIGKILL')));
  await ns?.cleanup();
  const admin = new pg.Client({ connectionString: adminUrl() });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('the built image', () => {
  it('holds the bundle and the services’ production dependencies, and no TypeScript or dev tooling', () => {
    const app = image.hostPath('.');
    expect(existsSync(join(app, 'dist/gantry.mjs'))).toBe(true);
    const sources = readdirSync(app, { recursive: true, encoding: 'utf8' }).filter((f) => !f.startsWith('node_modules') && /\.m?ts$/.test(f));
    expect(sources).toEqual([]);
    const modules = readdirSync(join(app, 'node_modules'));
    for (const dev of ['typescript', 'tsx', 'esbuild', 'vitest', 'nx', 'eslint', 'kubernetes-models']) expect.soft(modules, dev).not.toContain(dev);
    expect(readdirSync(join(app, 'node_modules/@gantry')).sort()).toEqual(['api', 'contracts', 'runtime', 'scheduler', 'store', 'worker']);
    expect(relative(image.root, app)).toBe('app');
  });

  it('answers a command it does not know with its usage and exit code 2', async () => {
    const { code, proc } = await runToEnd(['serve']);
    expect(code).toBe(2);
    expect(proc.output()).toContain('usage: gantry <api|scheduler|worker|migrate|cli>');
  });

  it('migrates a database it creates, and finds it up to date the second time', async () => {
    const env = { DATABASE_URL: databaseUrl(DATABASE) };
    const first = await runToEnd(['migrate'], env);
    expect(first.code, first.proc.output()).toBe(0);
    expect(first.proc.logs.map((l) => l.msg)).toEqual(expect.arrayContaining(['created the database', expect.stringMatching(/^applied \d+ migration\(s\)$/) as unknown]));
    const second = await runToEnd(['migrate'], env);
    expect(second.code, second.proc.output()).toBe(0);
    expect(second.proc.logs.map((l) => l.msg)).toContain('the schema is up to date');
  }, 120_000);

  it('runs a job through api, scheduler and worker, with a workspace and token made by its CLI, and stops each cleanly', async () => {
    const db = { DATABASE_URL: databaseUrl(DATABASE), GANTRY_NAMESPACE: ns.namespace, HTTP_HOST: '127.0.0.1' };
    const workspace = await runToEnd(['cli', 'workspace', 'create', 'image-check'], db);
    expect(workspace.code, workspace.proc.output()).toBe(0);
    const token = await runToEnd(['cli', 'token', 'create', '--workspace', 'image-check', '--scopes', 'jobs:read,jobs:write'], db);
    expect(token.code, token.proc.output()).toBe(0);
    const secret = String(token.proc.logs.at(-1)?.msg ?? '');
    expect(secret).toMatch(/^\S{20,}$/);

    const scheduler = run(['scheduler'], { ...db, METRICS_PORT: '0' });
    const worker = run(['worker'], { ...db, METRICS_PORT: '0', WORKER_WORK_DIR: join(home, 'jobs'), WORKER_CONCURRENCY: '2' });
    const api = run(['api'], { ...db, PORT: '0' });
    await Promise.all([scheduler, worker].map((p) => p.waitForLog((l) => l.msg === 'service started', 60_000)));
    const base = `http://127.0.0.1:${String((await api.waitForLog((l) => l.msg === 'api listening', 60_000)).port)}`;

    const submitted = await fetch(`${base}/runner-jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        type: 'image-check',
        steps: [
          { name: 'run', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['sh', '-c', 'echo built image'] } },
          { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
        ],
      }),
    });
    expect(submitted.status).toBe(202);
    const consolePage = await fetch(`${base}/ui`);
    expect(consolePage.status).toBe(200);
    expect(await consolePage.text()).toContain('<script type="module"');
    const { id } = (await submitted.json()) as { id: string };
    let status = '';
    for (const deadline = Date.now() + 60_000; Date.now() < deadline && !['COMPLETED', 'FAILED', 'CANCELLED'].includes(status); ) {
      await new Promise((r) => setTimeout(r, 100));
      status = ((await (await fetch(`${base}/runner-jobs/${id}`, { headers: { authorization: `Bearer ${secret}` } })).json()) as { status: string }).status;
    }
    expect(status).toBe('COMPLETED');
    // The worker ran as the image's user: its job directories belong to that user.
    if (process.getuid?.() === 0 && image.user) expect(statSync(join(home, 'jobs')).uid).toBe(image.user.uid);

    for (const p of [api, worker, scheduler]) expect(await p.stop('SIGTERM'), p.output()).toBe(0);
  }, 240_000);
});
