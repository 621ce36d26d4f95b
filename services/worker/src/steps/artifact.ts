/**
 * ARTIFACT: stores a file, or a directory as one tar archive, from the job directory in the
 * namespace's artifact bucket (NATS object store) under `<workspaceId>/<jobId>/<name>`, and
 * records name, bucket, key, size, SHA-256 (hex) and content type in `artifact.created`.
 *
 * The name defaults to the file's base name (a directory's gets `.tar`); the content type to
 * one guessed from the name (`application/x-tar` for a directory). The object's metadata holds
 * the content type, job, step and attempt; the object store's own digest (`SHA-256=`, base64url)
 * is of the same bytes. A path that leads outside the job directory (`..`, an absolute path,
 * or a symbolic link pointing out) is refused without retry (`PATH_ESCAPES_JOB_DIR`).
 * A later attempt stores the artifact again under the same key, replacing it.
 */
import { createHash } from 'node:crypto';
import { realpath, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import type { ObjectStore } from '@nats-io/obj';
import { ArtifactSpec, type Names, parseWith, StepType } from '@gantry/contracts';
import { UnrecoverableError } from '../engine/job-control.js';
import { contentTypeOf } from './artifact/content-type.js';
import { openFileInside } from './artifact/open-inside.js';
import { tarDirectory } from './artifact/tar.js';
import type { StepHandler } from './types.js';

/** What the ARTIFACT step needs from the worker. */
export interface ArtifactDeps {
  readonly names: Names;
  /** The artifact bucket, opened once on first use. */
  readonly bucket: () => Promise<ObjectStore>;
}

function defaultName(path: string, jobDir: string, isDirectory: boolean): string {
  const base = path === jobDir ? 'job' : basename(path).replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 190) || 'artifact';
  return isDirectory ? `${base}.tar` : base;
}

/**
 * The bytes of the file at `path`, read from a descriptor checked to be a regular file inside the
 * job directory (`open-inside.ts`); opened on the first read, closed when the reading ends.
 */
async function* fileContents(root: Buffer, path: string): AsyncGenerator<Uint8Array> {
  const handle = await openFileInside(root, path);
  try {
    yield* handle.createReadStream({ autoClose: false });
  } finally {
    await handle.close();
  }
}

/**
 * A web stream of `source` that hashes and counts what passes and errors when `signal` aborts.
 * `close()` ends `source` (its open files and directories) when the stream's reader gave up
 * without cancelling it.
 */
function hashingStream(source: AsyncIterable<Uint8Array>, signal: AbortSignal) {
  const hash = createHash('sha256');
  let size = 0;
  const it = source[Symbol.asyncIterator]();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (signal.aborted) {
        controller.error(signal.reason);
        await it.return?.();
        return;
      }
      const next = await it.next();
      if (next.done) {
        controller.close();
        return;
      }
      hash.update(next.value);
      size += next.value.length;
      controller.enqueue(next.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
  return { stream, digest: () => ({ sha256: hash.digest('hex'), size }), close: async () => void (await it.return?.()) };
}

/** The ARTIFACT step type. */
export function artifactStep(deps: ArtifactDeps): StepHandler<ArtifactSpec> {
  return {
    type: StepType.ARTIFACT,
    parseSpec: (raw) => parseWith(ArtifactSpec, raw, 'ARTIFACT spec'),
    async run(ctx) {
      const { spec, job } = ctx;
      const jobDir = await ctx.workDir.resolve('.');
      const root = Buffer.from(await realpath(jobDir));
      const path = await ctx.workDir.resolve(spec.path);
      const st = await stat(path);
      if (!st.isFile() && !st.isDirectory()) {
        throw new UnrecoverableError(`${JSON.stringify(spec.path)} is neither a file nor a directory`, 'NOT_A_FILE');
      }
      const isDirectory = st.isDirectory();
      const name = spec.name ?? defaultName(path, jobDir, isDirectory);
      const key = `${job.workspaceId}/${job.id}/${name}`;
      const contentType = spec.contentType ?? (isDirectory ? 'application/x-tar' : contentTypeOf(name));
      const source: AsyncIterable<Uint8Array> = isDirectory ? tarDirectory(path, root) : fileContents(root, path);
      const { stream, digest, close } = hashingStream(source, ctx.signal);
      try {
        const bucket = await deps.bucket();
        await bucket.put(
          {
            name: key,
            description: `artifact ${name} of job ${job.id}`,
            metadata: { 'content-type': contentType, 'job-id': job.id, 'step-id': ctx.step.id, attempt: String(job.attempt) },
          },
          stream,
        );
      } catch (err) {
        // A failed upload leaves the stream unread, and the files it had open open until the
        // garbage collector found them.
        await close().catch(() => undefined);
        throw err;
      }
      const { sha256, size } = digest();
      const artifact = { name, bucket: deps.names.buckets.artifacts, key, size, sha256, contentType };
      ctx.emit({ type: 'artifact.created', payload: artifact });
      return { output: artifact };
    },
  };
}
