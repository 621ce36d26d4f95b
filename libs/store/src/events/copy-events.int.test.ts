import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobEvent } from '@gantry/contracts';
import { createJobs, createWorkspace, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool, withTransaction } from '../db/pool.js';
import { copyEvents } from './copy-events.js';

const db = useTestDatabase();
let pool: Pool;

beforeAll(() => {
  pool = createPool(db.url, { max: 2, applicationName: 'copy-events-test' });
});
afterAll(async () => {
  await pool.end();
});

describe('copyEvents', () => {
  it('stores text with tabs, newlines, backslashes and unicode exactly', async () => {
    const workspaceId = await createWorkspace(pool);
    const [job] = await createJobs(pool, workspaceId);
    const chunk = 'col1\tcol2\nline2\r\n\\path\\to "quoted" \\N é ✓ 🚀 \u0001';
    const event: JobEvent = {
      v: 1,
      id: randomUUID(),
      jobId: job!.id,
      workspaceId,
      stepId: job!.stepIds[0]!,
      sequence: 3,
      attempt: 1,
      actor: 'worker:tab\there',
      at: new Date().toISOString(),
      type: 'step.output',
      payload: { stream: 'stdout', offset: 0, chunk },
    };
    await withTransaction(pool, (c) => copyEvents(c, [event]));
    const { rows } = await pool.query('SELECT step_id, actor, payload FROM job_events WHERE job_id = $1 AND sequence = 3', [job!.id]);
    expect(rows).toEqual([{ step_id: job!.stepIds[0], actor: 'worker:tab\there', payload: event.payload }]);
  });
});
