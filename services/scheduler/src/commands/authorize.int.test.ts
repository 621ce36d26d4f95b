/**
 * A command's token is checked as the API checks a bearer token, revocation included: the
 * leader's authorizer, which lives for its term, trusts a token row it read for
 * TOKEN_RECHECK_MS at most.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Headers, type JobSpecInput } from '@gantry/contracts';
import { hashToken } from '@gantry/store';
import { createToken, createWorkspace } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { TOKEN_RECHECK_MS } from './authorize.js';
import { deadLetterCodes } from '../testing/commands.js';
import { publishCommand, waitFor } from '../testing/harness.js';

const h = useScheduler();

const job: JobSpecInput = { type: 'revoked', steps: [{ name: 'only', phase: 'EXECUTION', type: 'NOOP' }] };

async function exists(id: string): Promise<boolean> {
  return (await h.pool.query('SELECT 1 FROM runner_jobs WHERE id = $1', [id])).rowCount === 1;
}

describe('command tokens', () => {
  it('refuse a command whose token was revoked after the leader first read it, within TOKEN_RECHECK_MS', async () => {
    const workspaceId = await createWorkspace(h.pool);
    const token = await createToken(h.pool, workspaceId);
    const first = randomUUID();
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: first, workspaceId, job }, { [Headers.token]: token });
    await waitFor(() => exists(first), 10_000, 'the first job');

    await h.pool.query('UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1', [hashToken(token)]);
    await new Promise((r) => setTimeout(r, TOKEN_RECHECK_MS));
    const second = randomUUID();
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: second, workspaceId, job }, { [Headers.token]: token });
    await waitFor(async () => (await exists(second)) || (await deadLetterCodes(h.ns, second)).length > 0, 10_000, 'the second command settled');
    expect({ created: await exists(second), deadLetters: await deadLetterCodes(h.ns, second) }).toEqual({ created: false, deadLetters: ['UNAUTHENTICATED'] });
  });
});
