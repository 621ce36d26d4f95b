/**
 * With COMMAND_SIGNING_KEY the API sends a grant, not its caller's bearer token, on the commands
 * it publishes: the token would otherwise rest in the commands stream until the scheduler acks it.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Headers } from '@gantry/contracts';
import { verifyGrant } from '@gantry/store';
import { CommandAccepted } from '../schemas.js';
import { fail, queue, start } from '../testing/fixtures.js';
import type { TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';

const KEY = 'a-key-shared-with-the-scheduler-0123456789';
const t = useTestApi({ commandSigningKey: KEY });
let ws: TestWorkspace;

beforeAll(async () => {
  ws = await t.api.workspace();
});

describe('commands the API publishes with COMMAND_SIGNING_KEY', () => {
  it('carry a grant for exactly their bytes and the caller’s token id, and never the token', async () => {
    const res = await t.api.call('POST', '/runner-jobs/batch', { token: ws.writer, body: { jobs: [{ type: 'grant', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] }] } });
    const id = (res.body as { jobs: { id: string }[] }).jobs[0]!.id;
    await t.writer.write(queue(id));
    await t.writer.write(start(id));
    await t.writer.write(fail(id));
    const accepted = CommandAccepted.parse((await t.api.call('POST', `/runner-jobs/${id}/retry`, { token: ws.writer })).body);

    const { state } = await t.ns.jsm.streams.info(t.ns.names.streams.commands);
    const stored = [];
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const m = await t.ns.jsm.streams.getMessage(t.ns.names.streams.commands, { seq }).catch(() => null);
      if (m?.header.get(Headers.msgId) === accepted.commandId) stored.push(m);
    }
    expect(stored).toHaveLength(1);
    const [message] = stored;
    expect(message!.header.get(Headers.token)).toBe('');
    expect(new TextDecoder().decode(message!.data)).not.toContain(ws.writer);
    const grant = message!.header.get(Headers.grant);
    const { rows } = await t.api.pool.query<{ id: string }>('SELECT id FROM api_tokens WHERE workspace_id = $1 AND $2 = ANY(scopes)', [ws.id, 'jobs:write']);
    expect(verifyGrant(KEY, grant, message!.data)).toBe(rows[0]!.id);
    expect(verifyGrant('another-key-of-at-least-32-characters', grant, message!.data)).toBeUndefined();
  });
});
