/**
 * `gantry watch` (and `submit --watch`) stopped by Ctrl-C exited 0, which says the job
 * COMPLETED: `gantry submit job.yaml --watch && deploy` deployed after a Ctrl-C while the job
 * still waited at its gate. It now exits 130. Stopped by its reader going away (a broken pipe)
 * it exited 0 as well, whatever became of the job; it now exits 141.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT } from './cli.js';
import { useTestCluster, waitFor } from './test-cluster.js';

const cluster = useTestCluster();

async function gatedJob(): Promise<string> {
  const file = join(tmpdir(), `gantry-watch-${process.pid}-gate.yaml`);
  await writeFile(file, 'type: gated\nsteps:\n  - {name: ok, phase: VALIDATION, type: GATE, spec: {kind: approval}}\n');
  const id = (await cluster.gantry(['submit', file])).stdout[0]!;
  await waitFor(async () => {
    const { rows } = await cluster.pool.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [id]);
    return rows[0]?.status === 'WAITING';
  }, 'the gate');
  return id;
}

describe('gantry watch interrupted with Ctrl-C', () => {
  it('does not exit 0 (which means "the job COMPLETED") for a job that has not completed', async () => {
    const id = await gatedJob();
    const bin = fileURLToPath(new URL('../bin/gantry.mjs', import.meta.url));
    const child = spawn(process.execPath, [bin, 'watch', id], { env: { ...process.env, ...cluster.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor(async () => stdout.includes(`approve: gantry approve ${id}`), 'watch to show the gate', 60_000);

    child.kill('SIGINT');
    const code = await exited;
    expect(stderr).toContain(`stopped following job ${id}`);
    // The job is still WAITING; README: exit 0 means "for watch and submit --watch, the job COMPLETED".
    // `gantry submit job.yaml --watch && deploy` must not go on to deploy after a Ctrl-C.
    // Not 0 (the job COMPLETED): 130, the shell's code for an interrupted command.
    expect(code, stderr).toBe(EXIT.interrupted);
  });
});

describe('gantry watch whose reader goes away', () => {
  it('exits 141, not 0, when its job then fails', async () => {
    const id = await gatedJob();
    const bin = fileURLToPath(new URL('../bin/gantry.mjs', import.meta.url));
    const child = spawn(process.execPath, [bin, 'watch', id, '--plain'], { env: { ...process.env, ...cluster.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    await waitFor(async () => stdout.includes(`approve: gantry approve ${id}`), 'watch to show the gate', 60_000);
    // `gantry watch ID | head -N`: the reader has what it wanted and closes the pipe.
    child.stdout.destroy();
    expect((await cluster.gantry(['reject', id, 'ok'])).code).toBe(EXIT.ok);
    // The next line the watch prints (the rejection) meets the closed pipe.
    expect(await exited).toBe(EXIT.brokenPipe);
  });
});
