import { createHash, randomBytes } from 'node:crypto';
import { Objm } from '@nats-io/obj';
import { beforeAll, describe, expect, it } from 'vitest';
import { ArtifactList, BatchResult } from '../schemas.js';
import { queue, start } from '../testing/fixtures.js';
import type { TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';

const t = useTestApi();
let ws: TestWorkspace;
let other: TestWorkspace;

beforeAll(async () => {
  [ws, other] = await Promise.all([t.api.workspace(), t.api.workspace()]);
});

/** A job with one stored artifact, as a worker's ARTIFACT step leaves it. */
async function jobWithArtifact(name: string, data: Uint8Array, contentType = 'application/octet-stream') {
  const res = await t.api.call('POST', '/runner-jobs/batch', {
    token: ws.writer,
    body: { jobs: [{ type: 'artifacts', steps: [{ name: 'store', phase: 'EXECUTION', type: 'ARTIFACT', spec: { path: name } }] }] },
  });
  const jobId = BatchResult.parse(res.body).jobs[0]!.id;
  const key = `${ws.id}/${jobId}/${name}`;
  const bucket = await new Objm(t.ns.nc).open(t.ns.names.buckets.artifacts);
  await bucket.putBlob({ name: key }, data);
  await t.writer.write(queue(jobId));
  await t.writer.write(start(jobId));
  await t.writer.write({
    jobId,
    attempt: 1,
    expect: ['RUNNING'],
    events: [
      {
        type: 'artifact.created',
        actor: 'worker:test',
        payload: { name, bucket: t.ns.names.buckets.artifacts, key, size: data.byteLength, sha256: createHash('sha256').update(data).digest('hex'), contentType },
      },
    ],
  });
  return jobId;
}

describe('artifacts', () => {
  it('lists a job’s artifacts and streams one back byte for byte, over several chunks', async () => {
    // ASCII, so that the harness's text answer compares byte for byte; 300 KB is several 128 KiB chunks.
    const data = Buffer.from(randomBytes(225_000).toString('base64'));
    const jobId = await jobWithArtifact('report.bin', data);
    const list = await t.api.call('GET', `/runner-jobs/${jobId}/artifacts`, { token: ws.reader });
    expect(list.status).toBe(200);
    expect(ArtifactList.parse(list.body).items).toMatchObject([
      { name: 'report.bin', size: data.byteLength, sha256: createHash('sha256').update(data).digest('hex') },
    ]);

    const res = await t.api.call('GET', `/runner-jobs/${jobId}/artifacts/report.bin`, { token: ws.reader });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/octet-stream');
    expect(res.headers.get('content-length')).toBe(String(data.byteLength));
    expect(res.text).toBe(data.toString());
  });

  it('answers 404 for an unknown name and for another workspace’s job, without leaving consumers', async () => {
    const jobId = await jobWithArtifact('notes.txt', Buffer.from('hello'), 'text/plain');
    expect((await t.api.call('GET', `/runner-jobs/${jobId}/artifacts/missing.txt`, { token: ws.reader })).status).toBe(404);
    expect((await t.api.call('GET', `/runner-jobs/${jobId}/artifacts`, { token: other.reader })).status).toBe(404);
    expect((await t.api.call('GET', `/runner-jobs/${jobId}/artifacts/notes.txt`, { token: other.reader })).status).toBe(404);
    const res = await t.api.call('GET', `/runner-jobs/${jobId}/artifacts/notes.txt`, { token: ws.reader });
    expect(res.status).toBe(200);
    expect(res.text).toBe('hello');
  });

  it('serves a name up to the 200 characters a name may have, and answers a longer one or a broken URL with a problem', async () => {
    const name = `${'r'.repeat(196)}.bin`;
    const jobId = await jobWithArtifact(name, Buffer.from('hello'));
    const res = await t.api.call('GET', `/runner-jobs/${jobId}/artifacts/${name}`, { token: ws.reader });
    expect(res.status, res.text).toBe(200);
    expect(res.text).toBe('hello');
    for (const url of [`/runner-jobs/${jobId}/artifacts/${'x'.repeat(3_000)}`, `/runner-jobs/${jobId}/artifacts/%E0%A4%A`]) {
      const refused = await t.api.call('GET', url, { token: ws.reader });
      expect(refused.status).toBeGreaterThanOrEqual(400);
      expect(refused.status).toBeLessThan(500);
      expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    }
  });

  it('refuses a content type that is no media type at submission, and serves a stored one that is not as octet-stream', async () => {
    const res = await t.api.call('POST', '/runner-jobs/batch', {
      token: ws.writer,
      body: { jobs: [{ type: 'artifacts', steps: [{ name: 'store', phase: 'EXECUTION', type: 'ARTIFACT', spec: { path: 'r.txt', contentType: 'text/plain; title="€"' } }] }] },
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ errors: [expect.objectContaining({ path: 'jobs.0.steps.0.spec.contentType' })] });
    // Recorded before content types were checked.
    const jobId = await jobWithArtifact('legacy.txt', Buffer.from('hello'), 'text/plain; title="€"');
    const download = await t.api.call('GET', `/runner-jobs/${jobId}/artifacts/legacy.txt`, { token: ws.reader });
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('application/octet-stream');
  });

  it('answers 404, before any byte, for an object deleted or put again with other bytes since it was recorded', async () => {
    const bucket = await new Objm(t.ns.nc).open(t.ns.names.buckets.artifacts);
    const deleted = await jobWithArtifact('gone.bin', Buffer.from('hello world'));
    await bucket.delete(`${ws.id}/${deleted}/gone.bin`);
    const replaced = await jobWithArtifact('again.bin', Buffer.from('hello world'));
    await bucket.putBlob({ name: `${ws.id}/${replaced}/again.bin` }, Buffer.from('hi there!!!'));
    for (const [jobId, name] of [[deleted, 'gone.bin'], [replaced, 'again.bin']] as const) {
      const res = await fetch(`${t.api.url}/runner-jobs/${jobId}/artifacts/${name}`, { headers: { authorization: `Bearer ${ws.reader}` }, signal: AbortSignal.timeout(5_000) });
      expect(res.status).toBe(404);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      await res.arrayBuffer();
    }
  });
});
