/**
 * Limits.maxEnvVars ("Environment variables a step may set", 200) was enforced nowhere: a
 * COMMAND step or a command GATE with more variables was accepted and stored.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Limits, type JobSpecInput } from '@gantry/contracts';
import type { TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';

const t = useTestApi();
let ws: TestWorkspace;

beforeAll(async () => {
  ws = await t.api.workspace();
});

const env = Object.fromEntries(Array.from({ length: Limits.maxEnvVars + 1 }, (_, i) => [`V${i}`, 'x']));

const cases: [string, JobSpecInput['steps'][number]][] = [
  ['a COMMAND step', { name: 'run', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['true'], env } }],
  ['a command GATE', { name: 'gate', phase: 'VALIDATION', type: 'GATE', spec: { kind: 'command', argv: ['true'], env } }],
];

describe('maxEnvVars', () => {
  for (const [what, step] of cases) {
    it(`refuses ${what} setting ${Limits.maxEnvVars + 1} environment variables with LIMIT_EXCEEDED, and stores nothing`, async () => {
      const res = await t.api.call('POST', '/runner-jobs', { token: ws.writer, body: { type: 'env', steps: [step] } });
      const { rows } = await t.api.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM runner_jobs WHERE workspace_id = $1', [ws.id]);
      expect({ status: res.status, code: (res.body as { code?: string }).code, stored: rows[0]!.n }).toEqual({ status: 400, code: 'LIMIT_EXCEEDED', stored: 0 });
    });
  }
});
