import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DiscardPolicy } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { describe, expect, it } from 'vitest';
import { useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();
const run = promisify(execFile);

const bucketStream = () => `OBJ_${h.ns.names.buckets.artifacts}`;

async function consumersOfBucket(): Promise<string[]> {
  const names: string[] = [];
  for await (const ci of h.ns.jsm.consumers.list(bucketStream())) names.push(ci.name);
  return names;
}

/** Reads an object back. The object store's reader leaves an ephemeral consumer behind; it is removed here. */
async function stored(key: string): Promise<{ data: Buffer; digest: string; metadata: Record<string, string> | undefined }> {
  expect(await consumersOfBucket()).toEqual([]);
  const bucket = await new Objm(h.ns.nc).open(h.ns.names.buckets.artifacts);
  const info = (await bucket.info(key))!;
  const data = Buffer.from((await bucket.getBlob(key))!);
  for (const name of await consumersOfBucket()) await h.ns.jsm.consumers.delete(bucketStream(), name);
  return { data, digest: info.digest, metadata: info.metadata };
}

/** The targets of this process's open file descriptors that name `fileName`. */
async function openFilesNamed(fileName: string): Promise<string[]> {
  const targets = await Promise.all((await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')));
  return targets.filter((t) => t.includes(fileName));
}

describe('ARTIFACT steps', () => {
  it('stores a file under <workspace>/<job>/<name> with its size, SHA-256 and content type', async () => {
    const { worker } = await h.startWorker();
    const body = JSON.stringify({ passed: 42, failed: 0 });
    const job = await h.createJob({
      steps: [
        { name: 'make', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script: `mkdir -p out && printf '%s' '${body}' > out/report.json` } },
        { name: 'keep', phase: 'VALIDATION', type: 'ARTIFACT', spec: { path: 'out/report.json' } },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    const sha256 = createHash('sha256').update(body).digest('hex');
    const key = `${h.workspaceId}/${job.id}/report.json`;
    const created = (await h.events(job.id)).find((e) => e.type === 'artifact.created')!;
    expect(created.payload).toEqual({ name: 'report.json', bucket: h.ns.names.buckets.artifacts, key, size: body.length, sha256, contentType: 'application/json' });
    const object = await stored(key);
    expect(object.data.toString()).toBe(body);
    expect(object.digest.replace(/=+$/, '')).toBe(`SHA-256=${Buffer.from(sha256, 'hex').toString('base64url')}`);
    expect(object.metadata).toMatchObject({ 'content-type': 'application/json', 'job-id': job.id, attempt: '1' });
  });

  it('stores a directory as one tar archive', async () => {
    const { worker } = await h.startWorker();
    const deep = 'd'.repeat(60);
    const job = await h.createJob({
      steps: [
        {
          name: 'make', phase: 'EXECUTION', type: 'COMMAND',
          spec: { shell: '/bin/sh -e', script: `mkdir -p site/css site/${deep}/${deep}\necho '<h1>hi</h1>' > site/index.html\necho 'b{}' > site/css/a.css\necho deep > site/${deep}/${deep}/file-with-a-long-name.txt\nln -s index.html site/home.html` },
        },
        { name: 'keep', phase: 'VALIDATION', type: 'ARTIFACT', spec: { path: 'site', name: 'site.tar' } },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    const created = (await h.events(job.id)).find((e) => e.type === 'artifact.created')!;
    expect(created.payload).toMatchObject({ name: 'site.tar', contentType: 'application/x-tar' });
    const object = await stored(`${h.workspaceId}/${job.id}/site.tar`);
    expect(createHash('sha256').update(object.data).digest('hex')).toBe((created.payload as { sha256: string }).sha256);
    const dir = await mkdtemp(join(tmpdir(), 'artifact-'));
    try {
      await writeFile(join(dir, 'a.tar'), object.data);
      await run('tar', ['-xf', 'a.tar'], { cwd: dir });
      expect(await readFile(join(dir, 'index.html'), 'utf8')).toBe('<h1>hi</h1>\n');
      expect(await readFile(join(dir, 'css/a.css'), 'utf8')).toBe('b{}\n');
      expect(await readFile(join(dir, deep, deep, 'file-with-a-long-name.txt'), 'utf8')).toBe('deep\n');
      expect(await readFile(join(dir, 'home.html'), 'utf8')).toBe('<h1>hi</h1>\n');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses, without retry, a path that leads outside the job directory', async () => {
    const { worker } = await h.startWorker();
    const viaLink = await h.createJob({
      maxAttempts: 3,
      steps: [
        { name: 'link', phase: 'SETUP', type: 'COMMAND', spec: { argv: ['ln', '-s', '/etc', 'leak'] } },
        { name: 'steal', phase: 'EXECUTION', type: 'ARTIFACT', spec: { path: 'leak/hostname' } },
      ],
    });
    expect(await h.run(worker, viaLink.id)).toBe('FAILED');
    expect((await h.steps(viaLink.id))[1]!.error).toMatchObject({ code: 'PATH_ESCAPES_JOB_DIR' });

    // A spec that bypassed submission validation is refused by the worker too.
    const dotdot = await h.createJob({ maxAttempts: 3, steps: [{ name: 'steal', phase: 'EXECUTION', type: 'ARTIFACT', spec: { path: 'x' } }] });
    await h.pool.query(`UPDATE job_steps SET spec = '{"path": "../../etc/hostname"}' WHERE job_id = $1`, [dotdot.id]);
    expect(await h.run(worker, dotdot.id)).toBe('FAILED');
    expect((await h.steps(dotdot.id))[0]!.error).toMatchObject({ code: 'VALIDATION_FAILED' });
    const bucket = await new Objm(h.ns.nc).open(h.ns.names.buckets.artifacts);
    expect(await bucket.info(`${h.workspaceId}/${viaLink.id}/hostname`)).toBeNull();
  });

  it('closes the file it was reading when the upload fails partway', async () => {
    const { worker } = await h.startWorker();
    // A bucket that takes 256 KiB at most, and refuses what would pass it.
    const { config } = await h.ns.jsm.streams.info(bucketStream());
    await h.ns.jsm.streams.update(bucketStream(), { ...config, max_bytes: 256 * 1024, discard: DiscardPolicy.New });
    try {
      const job = await h.createJob({
        maxAttempts: 1,
        steps: [
          { name: 'make', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh -e', script: 'head -c 2097152 /dev/zero > too-big-for-the-bucket.bin' } },
          { name: 'keep', phase: 'VALIDATION', type: 'ARTIFACT', spec: { path: 'too-big-for-the-bucket.bin' } },
        ],
      });
      expect(await h.run(worker, job.id)).toBe('FAILED');
      expect((await h.steps(job.id))[1]!.status).toBe('FAILED');
      // The upload's reader gave up without ending the file's stream: its descriptor stayed open
      // (on a file already deleted with the job directory) until the garbage collector came.
      expect(await openFilesNamed('too-big-for-the-bucket.bin')).toEqual([]);
    } finally {
      await h.ns.jsm.streams.update(bucketStream(), config);
    }
  });
});
