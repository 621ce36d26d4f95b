/** A tenant: every job, step, event and token belongs to exactly one workspace. */
import { defineEntity, type InferEntity } from '@mikro-orm/core';

export const WorkspaceSchema = defineEntity({
  name: 'Workspace',
  tableName: 'workspaces',
  properties: (p) => ({
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    name: p.text().unique('workspaces_name_key'),
    /** Concurrently running jobs allowed; null takes the scheduler's default. */
    maxRunningJobs: p.integer().nullable(),
    metadata: p.json<Record<string, unknown>>().default('{}'),
    createdAt: p.datetime().defaultRaw('now()'),
  }),
});
export type Workspace = InferEntity<typeof WorkspaceSchema>;
