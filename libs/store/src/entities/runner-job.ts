/** A job: its spec, its status in the job state machine, and its current attempt. */
import { defineEntity, type InferEntity } from '@mikro-orm/core';
import type { BackoffPolicy, JobError, JobStatus } from '@gantry/contracts';

export const RunnerJobSchema = defineEntity({
  name: 'RunnerJob',
  tableName: 'runner_jobs',
  properties: (p) => ({
    id: p.uuid().primary(),
    workspaceId: p.uuid(),
    agentTaskId: p.text().nullable(),
    type: p.text(),
    pool: p.text(),
    status: p.text().$type<JobStatus>(),
    priority: p.integer(),
    /** 0–100, advanced as steps complete. */
    progress: p.integer(),
    payload: p.json<Record<string, unknown>>(),
    result: p.json<unknown>().nullable(),
    error: p.json<JobError>().nullable(),
    /** The fencing token and dispatch id: grows on every return to QUEUED. */
    attempt: p.integer(),
    /** Attempts that failed; `maxAttempts` bounds it. */
    failures: p.integer(),
    maxAttempts: p.integer(),
    backoff: p.json<BackoffPolicy>(),
    idempotencyKey: p.text().nullable(),
    runAt: p.datetime().nullable(),
    timeoutMs: p.integer(),
    workerId: p.text().nullable(),
    dispatchedAt: p.datetime().nullable(),
    deadlineAt: p.datetime().nullable(),
    cancelRequestedAt: p.datetime().nullable(),
    /** Incremented by every change of the row. */
    version: p.integer(),
    metadata: p.json<Record<string, unknown>>(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    queuedAt: p.datetime().nullable(),
    startedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
  }),
});
export type RunnerJob = InferEntity<typeof RunnerJobSchema>;
