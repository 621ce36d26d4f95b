import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@gantry/testkit';
import { EXIT } from './cli.js';
import { startTestCluster, waitFor, type TestCluster } from './test-cluster.js';

const db = useTestDatabase();
const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
let cluster: TestCluster;
let ai: Server;
const aiRequests: { model?: string; messages?: unknown[] }[] = [];

beforeAll(async () => {
  // The OpenAI-compatible endpoint the AI example's worker is configured with.
  ai = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      aiRequests.push(JSON.parse(body) as { model?: string });
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({ model: 'review-model', choices: [{ message: { content: '- Looks right.' }, finish_reason: 'stop' }], usage: { prompt_tokens: 42, completion_tokens: 5 } }),
      );
    });
  });
  await new Promise<void>((r) => ai.listen(0, '127.0.0.1', r));
  const aiUrl = `http://127.0.0.1:${(ai.address() as AddressInfo).port}/v1`;
  cluster = await startTestCluster(db.url, { AI_BASE_URL: aiUrl, AI_MODEL: 'review-model', AI_MAX_RETRIES: '0' });
});
afterAll(async () => {
  await cluster?.stop();
  await new Promise((r) => ai?.close(r));
});

const gantry = (...argv: string[]) => cluster.gantry(argv);

async function status(id: string): Promise<string | undefined> {
  const { rows } = await cluster.pool.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [id]);
  return rows[0]?.status;
}

async function jobFile(name: string, text: string): Promise<string> {
  const path = join(tmpdir(), `gantry-cli-${process.pid}-${name}`);
  await writeFile(path, text);
  return path;
}

let pipelineId: string;

describe('gantry submit and the examples', () => {
  it('runs the build-and-test pipeline to completion, its manual gate approved with `gantry approve`', async () => {
    const watching = gantry('submit', `${EXAMPLES}build-and-test.yaml`, '--watch');
    pipelineId = await waitFor(async () => {
      const { rows } = await cluster.pool.query<{ id: string }>(`SELECT id FROM runner_jobs WHERE type = 'build-and-test' AND status = 'WAITING'`);
      return rows[0]?.id;
    }, 'the pipeline to wait at its gate');
    const approved = await gantry('approve', pipelineId, 'release', '--comment', 'ship it');
    expect(approved).toMatchObject({ code: EXIT.ok, stdout: [`${pipelineId} step release approved`] });
    const run = await watching;
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(run.stdout[0]).toBe(pipelineId);
    const text = run.stdout.join('\n');
    expect(text).toMatch(/\[build\] built dist\/hello\.sh \(release, \d+ bytes\)/);
    expect(text).toContain('[build] 2 + 3 = 5');
    expect(text).toContain(`approve: gantry approve ${pipelineId} `);
    expect(text).toMatch(/gate release passed \(approved by api:[0-9a-f-]+\): ship it/);
    expect(text).toContain('[deploy] deploying hello to production');
    expect(text).toMatch(/job COMPLETED in /);
    expect(run.stderr).toContain(`job ${pipelineId} COMPLETED`);
    const { rows } = await cluster.pool.query<{ name: string; status: string }>('SELECT name, status FROM job_steps WHERE job_id = $1 ORDER BY ordinal', [pipelineId]);
    expect(rows.map((r) => `${r.name}:${r.status}`)).toEqual(['checkout:COMPLETED', 'build:COMPLETED', 'unit-tests:COMPLETED', 'release:COMPLETED', 'deploy:COMPLETED', 'tidy:COMPLETED']);
  });

  it('runs the artifact example (JSON) and stores both artifacts; --json prints the job', async () => {
    const run = await gantry('submit', `${EXAMPLES}artifact.json`, '--watch', '--json');
    expect(run.code, run.stderr).toBe(EXIT.ok);
    const job = JSON.parse(run.stdout[0]!) as { id: string; type: string };
    expect(job.type).toBe('report');
    const types = run.stdout.slice(1).map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types.filter((t) => t === 'artifact.created')).toHaveLength(2);
    expect(types.at(-1)).toBe('job.completed');
    expect(await status(job.id)).toBe('COMPLETED');
  });

  it('runs the AI example against the endpoint the worker is configured with', async () => {
    const run = await gantry('submit', `${EXAMPLES}ai-review.yaml`, '--watch');
    expect(run.code, run.stderr).toBe(EXIT.ok);
    expect(aiRequests).toHaveLength(1);
    expect(aiRequests[0]).toMatchObject({ model: 'review-model' });
    const got = await gantry('get', run.stdout[0]!, '--json');
    expect((JSON.parse(got.stdout[0]!) as { steps: { output: unknown }[] }).steps[0]!.output).toMatchObject({ content: '- Looks right.', inputTokens: 42 });
  });

  it('refuses a bad file with its line numbers and exit code 2, sending nothing', async () => {
    const before = (await cluster.pool.query('SELECT count(*)::int AS n FROM runner_jobs')).rows[0].n as number;
    const file = await jobFile('bad.yaml', 'type: broken\nsteps:\n  - name: x\n    phase: EXECUTION\n    type: COMMAND\n    spec: {argv: []}\n');
    const run = await gantry('submit', file);
    expect(run.code).toBe(EXIT.usage);
    expect(run.stderr).toBe(`error: ${file} is not a valid job (1 problem):\n  ${file}:6:18: steps.0.spec.argv: Too small: expected array to have >=1 items`);
    expect((await cluster.pool.query('SELECT count(*)::int AS n FROM runner_jobs')).rows[0].n).toBe(before);
  });
});

describe('reading jobs', () => {
  it('list filters like the API, pages with --cursor and --all, and prints a table or JSON lines', async () => {
    const done = await gantry('list', '--status', 'completed', '--type', 'build-and-test', '--json');
    expect(done.stdout.map((l) => (JSON.parse(l) as { id: string }).id)).toEqual([pipelineId]);
    const page = await gantry('list', '--limit', '1');
    expect(page.stdout[0]).toMatch(/^ID\s+STATUS\s+TYPE\s+PRIO\s+PROGRESS\s+ATTEMPT\s+CREATED/);
    expect(page.stdout).toHaveLength(2);
    const cursor = /more jobs: --cursor (\S+)/.exec(page.stderr)?.[1];
    expect(cursor).toBeDefined();
    const next = await gantry('list', '--limit', '1', '--cursor', cursor!, '--json');
    expect(next.stdout).toHaveLength(1);
    const all = await gantry('list', '--limit', '1', '--all', '--json');
    expect(all.stdout).toHaveLength(3);
    expect(all.stderr).toBe('');
    expect((await gantry('list', '--priority-min', '55', '--json')).stdout).toHaveLength(1);
  });

  it('get shows the job and its steps; an unknown job is exit code 3 with the problem on one line', async () => {
    const got = await gantry('get', pipelineId);
    expect(got.stdout).toEqual(expect.arrayContaining([`job:        ${pipelineId}`, 'status:     COMPLETED  100%']));
    expect(got.stdout.find((l) => l.includes(' deploy '))).toMatch(/VALIDATION\s+COMMAND\s+COMPLETED/);
    const missing = await gantry('get', '00000000-0000-4000-8000-000000000000');
    expect(missing.code).toBe(EXIT.notFound);
    expect(missing.stderr).toMatch(/^error: 404 Not found: .* \[NOT_FOUND\]$/);
  });

  it('logs prints events and output lines, --output only the output, --json every event in order, --follow of a finished job returns', async () => {
    const logs = await gantry('logs', pipelineId);
    expect(logs.stdout).toContain('[build] 2 + 3 = 5');
    expect(logs.stdout.some((l) => /^\d\d:\d\d:\d\d {2}job COMPLETED/.test(l))).toBe(true);
    const output = await gantry('logs', pipelineId, '--output');
    expect(output.stdout.every((l) => l.startsWith('['))).toBe(true);
    const json = await gantry('logs', pipelineId, '--json');
    const seqs = json.stdout.map((l) => (JSON.parse(l) as { sequence: number }).sequence);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    const followed = await gantry('logs', pipelineId, '--follow', '--after', String(seqs.length - 1));
    expect(followed).toMatchObject({ code: EXIT.ok });
    expect(followed.stdout).toHaveLength(1);
  });

  it('queue and workers show the backlog and the live worker', async () => {
    const queue = await gantry('queue', '--json');
    expect(JSON.parse(queue.stdout[0]!)).toMatchObject({ depth: 0, running: 0, waiting: 0 });
    expect((await gantry('queue')).stdout[0]).toMatch(/^ready 0 {2}delayed 0 {2}running 0 {2}waiting 0/);
    const workers = await gantry('workers');
    expect(workers.stdout[1]).toMatch(/^cli-w1\s+default\s+\d\/4\s+serving/);
    expect(workers.stdout).toContain('pool default: 1 worker(s), 0/4 slots busy');
  });
});

describe('changing jobs', () => {
  it('cancel stops a running job (watch exits 1), a second cancel is refused (409, exit 1), retry queues it again', async () => {
    const file = await jobFile('sleep.yaml', 'type: sleeper\nsteps:\n  - {name: nap, phase: EXECUTION, type: NOOP, spec: {sleepMs: 600000}}\n');
    const id = (await gantry('submit', file)).stdout[0]!;
    const watching = gantry('watch', id);
    await waitFor(async () => (await status(id)) === 'RUNNING', 'the job to run');
    const cancelled = await gantry('cancel', id, '--reason', 'enough');
    expect(cancelled).toMatchObject({ code: EXIT.ok, stdout: [`${id} cancel requested: its worker is stopping it`] });
    const watched = await watching;
    expect(watched.code).toBe(EXIT.failed);
    expect(watched.stdout.join('\n')).toMatch(/cancel requested: enough[\s\S]*job CANCELLED \(was RUNNING\): enough$/);
    const again = await gantry('cancel', id);
    expect(again.code).toBe(EXIT.failed);
    expect(again.stderr).toMatch(/^error: 409 Invalid transition: .* \[INVALID_TRANSITION\]$/);
    const retried = await gantry('retry', id);
    expect(retried).toMatchObject({ code: EXIT.ok, stdout: [expect.stringMatching(new RegExp(`^${id} queued again as attempt 2 \\(command `))] });
    // `retry` returns once the scheduler has queued the new attempt: a watch after it follows
    // that attempt, not the old one's end.
    expect(['QUEUED', 'RUNNING']).toContain(await status(id));
    expect((await gantry('cancel', id)).code).toBe(EXIT.ok);
    await waitFor(async () => (await status(id)) === 'CANCELLED', 'the second cancel');
  });

  it('reject fails a gated job; a read-only token may not decide (exit 4); watch of a finished job exits by its outcome', async () => {
    const file = await jobFile('gate.yaml', 'type: gated\nsteps:\n  - {name: ok, phase: VALIDATION, type: GATE, spec: {kind: approval}}\n');
    const id = (await gantry('submit', file)).stdout[0]!;
    await waitFor(async () => (await status(id)) === 'WAITING', 'the gate');
    const refused = await cluster.gantry(['approve', id, 'ok'], { GANTRY_TOKEN: cluster.tokens.reader });
    expect(refused.code).toBe(EXIT.auth);
    expect(refused.stderr).toMatch(/^error: 403 Forbidden: .* \[FORBIDDEN\]$/);
    expect((await gantry('reject', id, 'nope')).code).toBe(EXIT.notFound);
    expect(await gantry('reject', id, 'ok', '--reason', 'not today')).toMatchObject({ code: EXIT.ok, stdout: [`${id} step ok rejected`] });
    await waitFor(async () => (await status(id)) === 'FAILED', 'the rejection');
    const watched = await gantry('watch', id, '--plain');
    expect(watched.code).toBe(EXIT.failed);
    expect(watched.stdout.join('\n')).toMatch(/gate ok failed \(rejected by api:[0-9a-f-]+\): not today/);

    // The same through the executable: a real process, its exit code and stdout.
    const bin = fileURLToPath(new URL('../bin/gantry.mjs', import.meta.url));
    const child = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      execFile(process.execPath, [bin, 'watch', id], { env: { ...process.env, ...cluster.env } }, (err, stdout) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout }),
      );
    });
    expect(child.code).toBe(EXIT.failed);
    expect(child.stdout).toMatch(/job FAILED after 1 attempt\(s\)/);
  });
});

describe('authentication', () => {
  it('a bad token is exit code 4 with one clear line', async () => {
    const run = await cluster.gantry(['list'], { GANTRY_TOKEN: 'gantry_not-a-token' });
    expect(run.code).toBe(EXIT.auth);
    expect(run.stdout).toEqual([]);
    expect(run.stderr).toMatch(/^error: 401 Unauthenticated: [^\n]+ \[UNAUTHENTICATED\]$/);
    expect((await cluster.gantry(['get', pipelineId, '--token', 'gantry_nope'])).code).toBe(EXIT.auth);
  });
});
