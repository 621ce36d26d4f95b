/** Every resource route of the API, in the order the docs list them. */
import type { ApiRoute } from '../http/route.js';
import { getArtifactRoute, listArtifactsRoute } from './artifacts.js';
import { bulkCancelRoute, cancelJobRoute } from './cancel.js';
import { approveRoute, rejectRoute, retryJobRoute } from './decisions.js';
import { streamEventsRoute } from './events-stream.js';
import { getEventsRoute, getJobRoute, getStepsRoute, listJobsRoute } from './jobs.js';
import { queueRoute } from './queue.js';
import { submitBatch, submitJob } from './submit.js';
import { workersRoute } from './workers.js';

export const API_ROUTES: readonly ApiRoute[] = [
  submitJob,
  submitBatch,
  listJobsRoute,
  getJobRoute,
  getStepsRoute,
  getEventsRoute,
  streamEventsRoute,
  listArtifactsRoute,
  getArtifactRoute,
  cancelJobRoute,
  retryJobRoute,
  approveRoute,
  rejectRoute,
  bulkCancelRoute,
  queueRoute,
  workersRoute,
];
