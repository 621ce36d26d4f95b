/**
 * A step id is a UUID, and UUIDs are case-insensitive: the API found the gate with an
 * upper-case step id (PostgreSQL compares uuid values) and answered 202, and the CLI passed the
 * id on as typed. The approve command carried it as typed, and the scheduler looked the gate up
 * in a map keyed by PostgreSQL's lower-case text: no match, the command was acked as a no-op,
 * and the gate was never decided although `gantry approve` said "approved" (exit 0). The API
 * now sends the stored id, and commands read ids in lower case.
 */
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT } from './cli.js';
import { useTestCluster, waitFor } from './test-cluster.js';

const cluster = useTestCluster();

async function status(id: string): Promise<string | undefined> {
  const { rows } = await cluster.pool.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [id]);
  return rows[0]?.status;
}

async function gateOf(id: string): Promise<string> {
  const { rows } = await cluster.pool.query<{ id: string }>(`SELECT id FROM job_steps WHERE job_id = $1 AND type = 'GATE'`, [id]);
  return rows[0]!.id;
}

describe('gantry approve with a step id in upper case', () => {
  it('decides the gate, as the same id in lower case does', async () => {
    const file = join(tmpdir(), `gantry-gate-case-${process.pid}.yaml`);
    await writeFile(file, 'type: gated\nsteps:\n  - {name: ok, phase: VALIDATION, type: GATE, spec: {kind: approval}}\n');
    const upper = (await cluster.gantry(['submit', file])).stdout[0]!;
    const lower = (await cluster.gantry(['submit', file])).stdout[0]!;
    await waitFor(async () => (await status(upper)) === 'WAITING' && (await status(lower)) === 'WAITING', 'both gates');

    const upperStep = (await gateOf(upper)).toUpperCase();
    const approvedUpper = await cluster.gantry(['approve', upper, upperStep]);
    expect(approvedUpper.code, approvedUpper.stderr).toBe(EXIT.ok);
    const approvedLower = await cluster.gantry(['approve', lower, await gateOf(lower)]);
    expect(approvedLower.code, approvedLower.stderr).toBe(EXIT.ok);

    // The control: the scheduler has handled the approve commands (the second was published after the first).
    await waitFor(async () => (await status(lower)) !== 'WAITING', 'the lower-case approval to take effect');
    // Both said "approved"; both gates must have been decided.
    await waitFor(async () => (await status(upper)) !== 'WAITING', 'the upper-case approval to take effect', 15_000);
  }, 120_000);
});
