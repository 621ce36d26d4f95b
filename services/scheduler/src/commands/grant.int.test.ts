/**
 * Commands authorised by a grant (`Gantry-Grant`): the API's signed word that its caller's token
 * authorised exactly that message, sent instead of the token itself when the API and the
 * scheduler share a COMMAND_SIGNING_KEY. The scheduler checks the signature, then the token it
 * names as it checks a `Gantry-Token`. This file's scheduler is in the middle of a rotation: KEY
 * is its COMMAND_SIGNING_KEY and PREVIOUS its COMMAND_PREVIOUS_SIGNING_KEY.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { GantryError, Headers } from '@gantry/contracts';
import { hashToken, signGrant } from '@gantry/store';
import { createJobs, createToken, createWorkspace } from '@gantry/testkit';
import { CommandAuthorizer } from './authorize.js';
import { deadLetterCodes } from '../testing/commands.js';
import { publishCommand, waitFor } from '../testing/harness.js';
import { useScheduler } from '../testing/use-scheduler.js';

const KEY = 'the-key-the-api-and-the-scheduler-share';
const PREVIOUS = 'the-key-they-shared-before-the-rotation';
const h = useScheduler({ commandSigningKey: KEY, commandPreviousSigningKey: PREVIOUS });
let workspaceId: string;
let token: string;
let tokenId: string;

beforeAll(async () => {
  workspaceId = await createWorkspace(h.pool);
  token = await createToken(h.pool, workspaceId);
  tokenId = (await h.pool.query<{ id: string }>('SELECT id FROM api_tokens WHERE token_hash = $1', [hashToken(token)])).rows[0]!.id;
});

async function failedJob(): Promise<string> {
  const [job] = await createJobs(h.pool, workspaceId, 1);
  await h.pool.query(`UPDATE runner_jobs SET status = 'FAILED', failures = 1 WHERE id = $1`, [job!.id]);
  return job!.id;
}

const retry = (jobId: string) => ({ v: 1, kind: 'retry', id: randomUUID(), workspaceId, jobId });
const bytes = (command: unknown) => Buffer.from(JSON.stringify(command), 'utf8');
const grantsBy = async (key: 'current' | 'previous') =>
  (await h.metrics.registry.getSingleMetric('gantry_command_grants_total')?.get())?.values.find((v) => v.labels.signing_key === key)?.value ?? 0;
const statusOf = async (id: string) => (await h.pool.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [id])).rows[0]!.status;

describe('a command with a grant', () => {
  it('is applied when the grant was signed for its bytes, and its events name the granted token', async () => {
    const jobId = await failedJob();
    const command = retry(jobId);
    await publishCommand(h.ns, 'retry', command, { [Headers.grant]: signGrant(KEY, tokenId, bytes(command)) });
    await waitFor(async () => (await statusOf(jobId)) === 'QUEUED');
    const { rows } = await h.pool.query(`SELECT actor FROM job_events WHERE job_id = $1 AND type = 'job.queued' ORDER BY sequence DESC LIMIT 1`, [jobId]);
    expect(rows[0].actor).toBe(`api:${tokenId}`);
  });

  it('is applied when signed with the previous key during a rotation, and counted by the key that signed it', async () => {
    const [current, previous] = [await grantsBy('current'), await grantsBy('previous')];
    const jobId = await failedJob();
    const command = retry(jobId);
    await publishCommand(h.ns, 'retry', command, { [Headers.grant]: signGrant(PREVIOUS, tokenId, bytes(command)) });
    await waitFor(async () => (await statusOf(jobId)) === 'QUEUED');
    expect(await grantsBy('previous')).toBe(previous + 1);
    expect(await grantsBy('current')).toBe(current);
  });

  it('is dead-lettered when the grant was signed for other bytes or with another key, or names a revoked token', async () => {
    const jobId = await failedJob();
    const original = retry(jobId);
    const grant = signGrant(KEY, tokenId, bytes(original));
    // The same grant on a command naming another job: a grant authorises its message only.
    const other = retry(await failedJob());
    const wrongKey = retry(jobId);
    const revokedToken = await createToken(h.pool, workspaceId);
    const revokedId = (await h.pool.query<{ id: string }>('SELECT id FROM api_tokens WHERE token_hash = $1', [hashToken(revokedToken)])).rows[0]!.id;
    await h.pool.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [revokedId]);
    const revoked = retry(jobId);

    await publishCommand(h.ns, 'retry', other, { [Headers.grant]: grant });
    await publishCommand(h.ns, 'retry', wrongKey, { [Headers.grant]: signGrant('some-other-key-of-32-characters-or-more', tokenId, bytes(wrongKey)) });
    await publishCommand(h.ns, 'retry', revoked, { [Headers.grant]: signGrant(KEY, revokedId, bytes(revoked)) });
    for (const command of [other, wrongKey, revoked]) {
      await waitFor(async () => (await deadLetterCodes(h.ns, command.id)).length > 0, 10_000, `the dead letter of ${command.id}`);
      expect(await deadLetterCodes(h.ns, command.id)).toEqual(['UNAUTHENTICATED']);
    }
    expect(await statusOf(jobId)).toBe('FAILED');
    expect(await statusOf(other.jobId)).toBe('FAILED');
  });

  it('is refused by a scheduler without the key, which says why', async () => {
    const command = retry(await failedJob());
    const credential = { kind: 'grant' as const, grant: signGrant(KEY, tokenId, bytes(command)), data: bytes(command) };
    await expect(new CommandAuthorizer(h.pool).authorize(credential, workspaceId)).rejects.toThrow(GantryError);
    await expect(new CommandAuthorizer(h.pool).authorize(credential, workspaceId)).rejects.toThrow(/no COMMAND_SIGNING_KEY/);
    await expect(new CommandAuthorizer(h.pool, { signingKey: KEY }).authorize(credential, workspaceId)).resolves.toBe(`api:${tokenId}`);
  });

  it('signed with the previous key is refused once the rotation is over', async () => {
    const command = retry(await failedJob());
    const credential = { kind: 'grant' as const, grant: signGrant(PREVIOUS, tokenId, bytes(command)), data: bytes(command) };
    const counted: string[] = [];
    const during = new CommandAuthorizer(h.pool, { signingKey: KEY, previousSigningKey: PREVIOUS, onGrant: (key) => counted.push(key) });
    await expect(during.authorize(credential, workspaceId)).resolves.toBe(`api:${tokenId}`);
    expect(counted).toEqual(['previous']);
    const after = new CommandAuthorizer(h.pool, { signingKey: KEY });
    await expect(after.authorize(credential, workspaceId)).rejects.toThrow(/not signed for this command with this scheduler's COMMAND_SIGNING_KEY$/);
  });
});
