/** One step of a job, with its status and results in the job's current attempt. */
import { defineEntity, type InferEntity } from '@mikro-orm/core';
import type { JobError, StepPhase, StepStatus } from '@gantry/contracts';

export const JobStepSchema = defineEntity({
  name: 'JobStep',
  tableName: 'job_steps',
  properties: (p) => ({
    id: p.uuid().primary(),
    jobId: p.uuid(),
    workspaceId: p.uuid(),
    /** Position in the submitted step list. */
    ordinal: p.integer(),
    name: p.text(),
    phase: p.text().$type<StepPhase>(),
    type: p.text(),
    status: p.text().$type<StepStatus>(),
    spec: p.json<Record<string, unknown>>(),
    timeoutMs: p.integer().nullable(),
    attempt: p.integer(),
    output: p.json<unknown>().nullable(),
    /** The last bytes of a command's output. */
    outputTail: p.text().nullable(),
    exitCode: p.integer().nullable(),
    error: p.json<JobError>().nullable(),
    inputTokens: p.integer(),
    outputTokens: p.integer(),
    durationMs: p.integer().nullable(),
    startedAt: p.datetime().nullable(),
    completedAt: p.datetime().nullable(),
  }),
});
export type JobStep = InferEntity<typeof JobStepSchema>;
