/** `GET /runner-jobs/:id/events/stream`: a job's events as Server-Sent Events (see `sse/stream.ts`). */
import { defineRoute } from '../http/route.js';
import { JobParams, StreamQuery } from '../schemas.js';
import { serveEventStream } from '../sse/stream.js';

export const streamEventsRoute = defineRoute({
  method: 'GET',
  url: '/runner-jobs/:id/events/stream',
  summary: 'Stream a job’s events (Server-Sent Events)',
  description:
    'Each message’s `id` is the event’s sequence and its `data` the event as JSON. Sends what is stored after `Last-Event-ID` (or `?after=`), then events as they happen, with a `retry:` hint and keep-alive comments (every `Gantry-Keepalive-Ms` milliseconds, a response header, while nothing else is sent); ends after the terminal event. Resuming after the terminal event of a finished job answers 204.',
  scope: 'jobs:read',
  streaming: true,
  params: JobParams,
  query: StreamQuery,
  headers: [{ name: 'Last-Event-ID', description: 'The sequence of the last event received; the stream resumes after it.' }],
  responses: {
    200: { description: 'The event stream.', contentType: 'text/event-stream' },
    204: { description: 'The job has finished and no event follows Last-Event-ID.' },
  },
  errors: [503],
  handler: serveEventStream,
});
