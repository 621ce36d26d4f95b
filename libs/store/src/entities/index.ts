export * from './workspace.js';
export * from './api-token.js';
export * from './runner-job.js';
export * from './job-step.js';
export * from './job-event.js';
export * from './scheduler-lease.js';

import { ApiTokenSchema } from './api-token.js';
import { JobEventSchema } from './job-event.js';
import { JobStepSchema } from './job-step.js';
import { RunnerJobSchema } from './runner-job.js';
import { SchedulerLeaseSchema } from './scheduler-lease.js';
import { WorkspaceSchema } from './workspace.js';

/** Every entity, for the ORM's configuration. */
export const ENTITIES = [
  WorkspaceSchema,
  ApiTokenSchema,
  RunnerJobSchema,
  JobStepSchema,
  JobEventSchema,
  SchedulerLeaseSchema,
];
