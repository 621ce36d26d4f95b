/** `GET /runner-jobs/:id/artifacts` and `…/artifacts/:name`: what ARTIFACT steps stored, listed and streamed back. */
import { Readable } from 'node:stream';
import { jetstreamManager } from '@nats-io/jetstream';
import { GantryError, MEDIA_TYPE } from '@gantry/contracts';
import { artifactsOf, readArtifact, unavailable } from '../artifacts/read-artifact.js';
import { defineRoute } from '../http/route.js';
import { getJobRow } from '../jobs/read.js';
import { tenantRead } from '../jobs/tenant.js';
import { ArtifactList, ArtifactParams, JobParams } from '../schemas.js';

export const listArtifactsRoute = defineRoute({
  method: 'GET',
  url: '/runner-jobs/:id/artifacts',
  summary: 'List a job’s artifacts',
  description: 'What its ARTIFACT steps stored: name, size, SHA-256 and content type (the newest of each name).',
  scope: 'jobs:read',
  params: JobParams,
  responses: { 200: { description: 'The artifacts, by name.', schema: ArtifactList } },
  async handler(ctx) {
    const stored = await tenantRead(ctx.deps.pool, ctx.principal.workspaceId, async (db) => {
      const job = await getJobRow(db, ctx.principal.workspaceId, ctx.params.id);
      return artifactsOf(db, job.id);
    });
    const items = stored.map((a) => ({
      name: a.name,
      size: a.size,
      sha256: a.sha256,
      contentType: a.contentType,
      stepId: a.stepId,
      attempt: a.attempt,
      createdAt: a.createdAt.toISOString(),
    }));
    return { status: 200, body: { items } };
  },
});

export const getArtifactRoute = defineRoute({
  method: 'GET',
  url: '/runner-jobs/:id/artifacts/:name',
  summary: 'Download an artifact',
  description: 'The stored bytes, with the content type, length and SHA-256 (as the ETag) recorded when it was stored.',
  scope: 'jobs:read',
  streaming: true,
  params: ArtifactParams,
  responses: { 200: { description: 'The artifact’s bytes.', contentType: 'application/octet-stream' } },
  errors: [503],
  async handler(ctx) {
    const { job, artifact } = await tenantRead(ctx.deps.pool, ctx.principal.workspaceId, async (db) => {
      const row = await getJobRow(db, ctx.principal.workspaceId, ctx.params.id);
      return { job: row, artifact: (await artifactsOf(db, row.id)).find((a) => a.name === ctx.params.name) };
    });
    if (!artifact) throw new GantryError('NOT_FOUND', `job ${job.id} has no artifact ${ctx.params.name}`);
    const jsm = await jetstreamManager(ctx.deps.nc).catch((cause: unknown) => {
      throw unavailable(artifact, cause);
    });
    const chunks = readArtifact(ctx.deps.js, jsm, artifact);
    // Read the first chunk before answering, so that a missing object is a 404, not a cut-off 200.
    const first = await chunks.next();
    const body = Readable.from(
      (async function* () {
        if (!first.done) yield Buffer.from(first.value);
        for await (const chunk of chunks) yield Buffer.from(chunk);
      })(),
      { objectMode: false },
    );
    // However the body ends — read to the end, or destroyed by a client that went away, even before
    // its first read (which would leave the generator above unstarted and the reader open) — the
    // reader is returned, and its consumer deleted.
    body.once('close', () => void chunks.return(undefined).catch(() => undefined));
    return {
      status: 200,
      headers: {
        // One stored before content types were checked may be no header value at all.
        'content-type': MEDIA_TYPE.test(artifact.contentType) ? artifact.contentType : 'application/octet-stream',
        'content-length': String(artifact.size),
        etag: `"sha256-${artifact.sha256}"`,
        'content-disposition': `attachment; filename="${artifact.name}"`,
      },
      body,
    };
  },
});
