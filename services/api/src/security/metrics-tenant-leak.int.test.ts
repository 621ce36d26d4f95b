/**
 * The API's public port answers `GET /metrics` to anyone, without a token, and the
 * `gantry_jobs_submitted_total` series were labelled by the job types clients of every workspace
 * chose. A caller with no token (or with a token of another workspace) read what each tenant
 * submits: its job types (free text: project, customer or release names), how many, at what
 * priority, although every other answer of the API is scoped to the token's workspace.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';

const t = useTestApi();
let tenant: TestWorkspace;

beforeAll(async () => {
  tenant = await t.api.workspace();
});

describe('the API port’s /metrics', () => {
  it('does not show a workspace’s job types to a caller without a token', async () => {
    const secretType = `acme-merger-${randomUUID().slice(0, 8)}`;
    const submitted = await t.api.call('POST', '/runner-jobs', {
      token: tenant.writer,
      body: { type: secretType, priority: 93, steps: [{ name: 'a', phase: 'EXECUTION', type: 'NOOP' }] },
    });
    expect(submitted.status, submitted.text).toBe(202);

    // No Authorization header at all.
    const res = await fetch(`${t.api.url}/metrics`);
    const text = await res.text();
    const leaked = text.split('\n').filter((line) => line.includes(secretType));
    expect(leaked).toEqual([]);
  });
});
