/**
 * Test support: moves jobs through the protocol the way the scheduler and workers do — JobWrites
 * through the store's JobWriter, their events published after commit by the runtime's event
 * fan-out — so API tests can put a job in any status and watch its events arrive.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import type { JobSpecInput, Names } from '@gantry/contracts';
import { createEventFanout } from '@gantry/runtime';
import { JobWriter, type JobWrite, type Pool, type WriteResult } from '@gantry/store';
import { testLogger } from './harness.js';

/** A writer that publishes what it commits, like a service's. */
export interface TestWriter {
  readonly writer: JobWriter;
  write(write: JobWrite): Promise<WriteResult>;
  /** Stops the writer and waits until the server has its publishes. */
  close(): Promise<void>;
}

/** A JobWriter on `pool` whose commits fan out on `nc`'s events stream of `names`. */
export function createTestWriter(pool: Pool, nc: NatsConnection, names: Names): TestWriter {
  const writer = new JobWriter({ pool, onCommit: createEventFanout({ nc, names, logger: testLogger() }) });
  return {
    writer,
    async write(w) {
      const result = await writer.write(w);
      if (!result.applied) throw new Error(`write to ${w.to ?? 'same status'} refused: job is ${result.status} attempt ${result.attempt}`);
      await nc.flush();
      return result;
    },
    async close() {
      await writer.stop();
      await nc.flush();
    },
  };
}

/** A job spec with one approval gate between a setup and a cleanup step. */
export function gatedSpec(overrides: Partial<JobSpecInput> = {}): JobSpecInput {
  return {
    type: 'deploy',
    steps: [
      { name: 'build', phase: 'SETUP', type: 'NOOP' },
      { name: 'approve', phase: 'EXECUTION', type: 'GATE', spec: { kind: 'approval', prompt: 'ship it?' } },
      { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
    ],
    ...overrides,
  };
}

const WORKER = 'worker-test-1';

/** Protocol move 2: PENDING → QUEUED (attempt 1). */
export const queue = (jobId: string): JobWrite => ({
  jobId,
  attempt: 0,
  expect: ['PENDING'],
  to: 'QUEUED',
  set: { attempt: 1, queuedAt: 'now' },
  events: [{ type: 'job.queued', actor: 'scheduler', payload: { attempt: 1, reason: 'submitted', runAt: null } }],
});

/** Protocol move 4: QUEUED → RUNNING on `workerId`. */
export const start = (jobId: string, attempt = 1, workerId = WORKER): JobWrite => ({
  jobId,
  attempt,
  expect: ['QUEUED'],
  to: 'RUNNING',
  set: { workerId, startedAt: 'now' },
  events: [{ type: 'job.started', actor: `worker:${workerId}`, payload: { attempt, workerId } }],
});

/** Protocol move 5: a progress event. */
export const progress = (jobId: string, value: number, attempt = 1): JobWrite => ({
  jobId,
  attempt,
  expect: ['RUNNING'],
  set: { progress: value },
  events: [{ type: 'job.progress', actor: `worker:${WORKER}`, payload: { progress: value, completedSteps: 0, totalSteps: 3 } }],
});

/** Protocol move 6: RUNNING → COMPLETED. */
export const complete = (jobId: string, attempt = 1): JobWrite => ({
  jobId,
  attempt,
  expect: ['RUNNING'],
  to: 'COMPLETED',
  set: { progress: 100, completedAt: 'now', workerId: null },
  events: [{ type: 'job.completed', actor: `worker:${WORKER}`, payload: { durationMs: 5, result: null } }],
});

/** Protocol move 8: RUNNING → FAILED. */
export const fail = (jobId: string, attempt = 1): JobWrite => {
  const error = { code: 'STEP_FAILED', message: 'exit 1' };
  return {
    jobId,
    attempt,
    expect: ['RUNNING'],
    to: 'FAILED',
    set: { failures: 1, error, completedAt: 'now', workerId: null },
    events: [{ type: 'job.failed', actor: `worker:${WORKER}`, payload: { error, attempts: 1 } }],
  };
};

/** Protocol move 15: RUNNING → WAITING at the approval gate `stepId`. */
export const park = (jobId: string, stepId: string, attempt = 1): JobWrite => ({
  jobId,
  attempt,
  expect: ['RUNNING'],
  to: 'WAITING',
  set: { workerId: null },
  steps: [{ stepId, status: 'WAITING', startedAt: 'now' }],
  events: [{ type: 'job.waiting', actor: `worker:${WORKER}`, stepId, payload: { stepId, prompt: 'ship it?' } }],
});

/** The worker id the fixtures run jobs on. */
export const TEST_WORKER_ID = WORKER;
