/**
 * Artifacts as the API reads them: the list comes from a job's `artifact.created` events (the
 * newest of each name wins), the bytes from the NATS object store the worker put them in.
 *
 * Reading an object uses its own short-lived pull consumer on the object's chunk subject, deleted
 * when the read ends (the object store client's reader leaves an ephemeral consumer behind).
 * Single filter subject, so it runs on NATS 2.9.
 */
import { randomUUID } from 'node:crypto';
import { AckPolicy, DeliverPolicy, type JetStreamClient, JetStreamApiCodes, JetStreamApiError, type JetStreamManager } from '@nats-io/jetstream';
import { type EventPayload, GantryError } from '@gantry/contracts';
import { messageOf } from '@gantry/runtime';
import type { Queryable } from '../jobs/read.js';

/** A stored artifact of a job. */
export interface ArtifactRecord extends EventPayload<'artifact.created'> {
  stepId: string | null;
  attempt: number;
  createdAt: Date;
}

const ARTIFACTS_OF = `
SELECT DISTINCT ON (payload->>'name') payload, step_id, attempt, created_at
FROM job_events WHERE job_id = $1 AND type = 'artifact.created'
ORDER BY payload->>'name', sequence DESC`;

/** The job's artifacts by name, newest of each name. */
export async function artifactsOf(db: Queryable, jobId: string): Promise<ArtifactRecord[]> {
  const { rows } = await db.query<{ payload: EventPayload<'artifact.created'>; step_id: string | null; attempt: number; created_at: Date }>(
    ARTIFACTS_OF,
    [jobId],
  );
  return rows.map((r) => ({ ...r.payload, stepId: r.step_id, attempt: r.attempt, createdAt: r.created_at }));
}

interface ObjectMeta {
  nuid: string;
  size: number;
  chunks: number;
  /** `SHA-256=<base64url>` of the bytes. */
  digest?: string;
  deleted?: boolean;
}

/** The SHA-256 of an object's meta, as hex; undefined when it names none. */
function sha256Of(meta: ObjectMeta): string | undefined {
  const match = /^SHA-256=(.+)$/i.exec(meta.digest ?? '');
  return match ? Buffer.from(match[1]!, 'base64url').toString('hex') : undefined;
}

function metaSubject(bucket: string, key: string): string {
  const b64 = Buffer.from(key).toString('base64url');
  return `$O.${bucket}.M.${b64.padEnd(Math.ceil(b64.length / 4) * 4, '=')}`;
}

/**
 * Streams the bytes of `artifact` from the object store; the consumer is deleted when the read
 * ends. The object must still be the one the event recorded: a deleted object, or one put again
 * under its key with other bytes (a later attempt's upload), is NOT_FOUND, before any byte —
 * the answer's length and ETag come from the event.
 */
export async function* readArtifact(js: JetStreamClient, jsm: JetStreamManager, artifact: ArtifactRecord): AsyncGenerator<Uint8Array> {
  const stream = `OBJ_${artifact.bucket}`;
  const stored = await jsm.streams.getMessage(stream, { last_by_subj: metaSubject(artifact.bucket, artifact.key) }).catch((err: unknown) => {
    // A message not stored resolves null; a bucket that is gone throws, and is a 404 too. NATS
    // that cannot answer now (a timeout, a leader election) is not: the artifact may well be there.
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) return null;
    throw unavailable(artifact, err);
  });
  if (!stored) throw new GantryError('NOT_FOUND', `artifact ${artifact.name} is no longer stored`);
  const meta = stored.json<ObjectMeta>();
  if (meta.deleted) throw new GantryError('NOT_FOUND', `artifact ${artifact.name} is no longer stored`);
  const sha256 = sha256Of(meta);
  if (meta.size !== artifact.size || (sha256 !== undefined && sha256 !== artifact.sha256)) {
    throw new GantryError('NOT_FOUND', `artifact ${artifact.name} was replaced in the object store since it was recorded`);
  }
  if (meta.chunks === 0) return;
  const name = `artifact-${randomUUID()}`;
  await jsm.consumers.add(stream, {
    name,
    filter_subject: `$O.${artifact.bucket}.C.${meta.nuid}`,
    ack_policy: AckPolicy.None,
    deliver_policy: DeliverPolicy.All,
    inactive_threshold: 30_000_000_000,
  }).catch((err: unknown) => {
    throw unavailable(artifact, err);
  });
  try {
    const consumer = await js.consumers.get(stream, name);
    // One chunk per pull: nothing is left mid-iteration when the reader stops early.
    for (let received = 0; received < meta.chunks; received++) {
      const msg = await consumer.next({ expires: 5_000 });
      if (!msg) throw new GantryError('UNAVAILABLE', `artifact ${artifact.name}: chunk ${received + 1} of ${meta.chunks} did not arrive; retry later`);
      yield msg.data;
    }
  } finally {
    // Not awaited: the body ends with its last chunk, not a round trip later (a keep-alive
    // connection whose answer has not ended holds up a server's close). The consumer's
    // inactivity threshold removes it should the delete not arrive.
    void jsm.consumers.delete(stream, name).catch(() => undefined);
  }
}

/** The object store could not be read now: a 503 to retry, not a 404 or a 500. */
export function unavailable(artifact: Pick<ArtifactRecord, 'name'>, cause: unknown): GantryError {
  return new GantryError('UNAVAILABLE', `artifact ${artifact.name} cannot be read from the object store now (${messageOf(cause)}); retry later`, { cause });
}
