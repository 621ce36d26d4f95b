/** One row of the append-only event log (read-only through the ORM; written by the writer). */
import { defineEntity, type InferEntity } from '@mikro-orm/core';
import type { EventType } from '@gantry/contracts';

export const JobEventSchema = defineEntity({
  name: 'JobEventRecord',
  tableName: 'job_events',
  readonly: true,
  properties: (p) => ({
    id: p.uuid().primary(),
    jobId: p.uuid(),
    stepId: p.uuid().nullable(),
    workspaceId: p.uuid(),
    /** Gap-free from 1 within a job. */
    sequence: p.integer(),
    type: p.text().$type<EventType>(),
    actor: p.text(),
    attempt: p.integer(),
    payload: p.json<Record<string, unknown>>(),
    createdAt: p.datetime(),
  }),
});
export type JobEventRecord = InferEntity<typeof JobEventSchema>;
