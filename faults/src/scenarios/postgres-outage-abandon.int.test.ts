/**
 * PostgreSQL gone for longer than a worker retries an attempt's writes (WORKER_WRITE_RETRY_MS).
 * The worker gave up on the write but let the attempt run on, unrecorded: its command ran to the
 * end (and a step that writes nothing while it runs would have been followed by the next ones),
 * all of it to be done again by the attempt recovery starts. Now the write that fails for good
 * stops the attempt where it is; the job is recovered once PostgreSQL is back.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { runScenario, untilRunning } from '../scenario.js';

/** The worker's write retry: well inside the outage. */
const WRITE_RETRY_MS = 1_500;
/** Lines the counting step prints, one each 100 ms. */
const LINES = 100;
/** How long PostgreSQL stays down: longer than the counting step takes. */
const DOWN_MS = 12_000;

it('PostgreSQL down past the write retry: the attempt stops where it is, and its later step runs once', async () => {
  const mark = join(tmpdir(), `gantry-abandon-${randomUUID()}`);
  const counted = `${mark}.count`;
  try {
    const { check } = await runScenario('postgres-outage-abandon', { workers: 1, concurrency: 2, workerEnv: { WORKER_WRITE_RETRY_MS: String(WRITE_RETRY_MS) } }, async (c) => {
      const [id] = await c.submit(1, {
        type: 'faults',
        maxAttempts: 5,
        steps: [
          // Output every 100 ms: the worker writes it every WORKER_OUTPUT_FLUSH_MS while it runs.
          {
            name: 'count',
            phase: 'EXECUTION',
            type: 'COMMAND',
            spec: { argv: ['sh', '-c', `for i in $(seq ${LINES}); do echo $i; echo $i >> "$COUNTED"; sleep 0.1; done`], env: { COUNTED: counted } },
          },
          { name: 'mark', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['sh', '-c', 'echo ran >> "$MARK"'], env: { MARK: mark } } },
        ],
      });
      await untilRunning(c, [id!], 1);
      await new Promise((r) => setTimeout(r, 500));
      const faultAt = Date.now();
      await c.postgres.crash();
      await new Promise((r) => setTimeout(r, DOWN_MS));
      await c.postgres.restart();
      return { accepted: [id!], faults: 1, affected: [id!], faultAt, extra: { downMs: Date.now() - faultAt } };
    });
    expect(check.violations).toEqual([]);
    expect(check.statuses).toEqual({ COMPLETED: 1 });
    expect(readFileSync(mark, 'utf8')).toBe('ran\n');
    // The attempt PostgreSQL could no longer hear stopped counting within its writes' retry; the
    // recovered attempt counted to the end.
    const lines = readFileSync(counted, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThan(LINES);
    expect(lines.length).toBeLessThan(2 * LINES);
  } finally {
    rmSync(mark, { force: true });
    rmSync(counted, { force: true });
  }
}, 300_000);
