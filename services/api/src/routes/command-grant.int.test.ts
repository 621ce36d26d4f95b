/**
 * With COMMAND_SIGNING_KEY the API sends a grant, not its caller's bearer token, on the commands
 * it publishes: the token would otherwise rest in the commands stream until the scheduler acks it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Headers } from '@gantry/contracts';
import { verifyGrant } from '@gantry/store';
import { createTestNamespace, type TestNamespace, useTestDatabase } from '@gantry/testkit';
import { CommandAccepted } from '../schemas.js';
import { createTestWriter, fail, queue, start, type TestWriter } from '../testing/fixtures.js';
import { startTestApi, type TestApi, type TestWorkspace } from '../testing/harness.js';

const KEY = 'a-key-shared-with-the-scheduler-0123456789';
const db = useTestDatabase();
let ns: TestNamespace;
let api: TestApi;
let writer: TestWriter;
let ws: TestWorkspace;

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  api = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, settings: { commandSigningKey: KEY } });
  writer = createTestWriter(api.pool, ns.nc, ns.names);
  ws = await api.workspace();
});
afterAll(async () => {
  await writer?.close();
  await api?.stop();
  await ns?.cleanup();
});

describe('commands the API publishes with COMMAND_SIGNING_KEY', () => {
  it('carry a grant for exactly their bytes and the caller’s token id, and never the token', async () => {
    const res = await api.call('POST', '/runner-jobs/batch', { token: ws.writer, body: { jobs: [{ type: 'grant', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] }] } });
    const id = (res.body as { jobs: { id: string }[] }).jobs[0]!.id;
    await writer.write(queue(id));
    await writer.write(start(id));
    await writer.write(fail(id));
    const accepted = CommandAccepted.parse((await api.call('POST', `/runner-jobs/${id}/retry`, { token: ws.writer })).body);

    const { state } = await ns.jsm.streams.info(ns.names.streams.commands);
    const stored = [];
    for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
      const m = await ns.jsm.streams.getMessage(ns.names.streams.commands, { seq }).catch(() => null);
      if (m?.header.get(Headers.msgId) === accepted.commandId) stored.push(m);
    }
    expect(stored).toHaveLength(1);
    const [message] = stored;
    expect(message!.header.get(Headers.token)).toBe('');
    expect(new TextDecoder().decode(message!.data)).not.toContain(ws.writer);
    const grant = message!.header.get(Headers.grant);
    const { rows } = await api.pool.query<{ id: string }>('SELECT id FROM api_tokens WHERE workspace_id = $1 AND $2 = ANY(scopes)', [ws.id, 'jobs:write']);
    expect(verifyGrant(KEY, grant, message!.data)).toBe(rows[0]!.id);
    expect(verifyGrant('another-key-of-at-least-32-characters', grant, message!.data)).toBeUndefined();
  });
});
