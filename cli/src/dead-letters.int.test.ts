import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { headers as natsHeaders, type Msg } from '@nats-io/transport-node';
import { Headers } from '@gantry/contracts';
import { EXIT } from './cli.js';
import { useTestCluster, waitFor } from './test-cluster.js';

const cluster = useTestCluster();

interface Listed {
  seq: number;
  code: string;
  originalSubject: string;
  reason: string;
  headers: Record<string, string>;
  body: string;
}

/** `gantry dead-letters list --json` as an operator runs it: no API token, NATS from the environment. */
async function listed(): Promise<Listed[]> {
  const run = await cluster.gantry(['dead-letters', 'list', '--json'], { GANTRY_TOKEN: undefined });
  expect(run.code, run.stderr).toBe(EXIT.ok);
  return run.stdout.map((l) => JSON.parse(l) as Listed);
}

/** The headers the scheduler gives a dead letter, with `code` (and a command's Gantry-Workspace). */
function letterHeaders(code: string, workspaceId?: string) {
  const h = natsHeaders();
  if (workspaceId !== undefined) h.set(Headers.workspace, workspaceId);
  h.set(Headers.deadLetterCode, code);
  h.set(Headers.deadLetterReason, 'written by the test');
  return h;
}

describe('gantry dead-letters', () => {
  it('lists a refused command and replays it on its subject, past the duplicate window of its command id, then deletes it', async () => {
    const js = jetstream(cluster.ns.nc);
    const id = randomUUID();
    const command = { v: 1, kind: 'submit', id, workspaceId: cluster.workspaceId, job: { type: 'from-nats', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] } };
    // No Gantry-Token: the scheduler refuses it as UNAUTHENTICATED.
    await js.publish(cluster.ns.names.subjects.command('submit'), JSON.stringify(command), { msgID: id });
    const [first] = await waitFor(async () => {
      const l = await listed();
      return l.length > 0 && l;
    }, 'the dead letter');
    expect(first).toMatchObject({ code: 'UNAUTHENTICATED', originalSubject: `${cluster.ns.namespace}.cmd.submit`, body: JSON.stringify(command) });
    expect(first!.headers[Headers.originalMsgId]).toBe(id);
    const table = await cluster.gantry(['dead-letters', 'list']);
    expect(table.stdout[0]).toMatch(/^SEQ\s+TIME\s+CODE\s+WORKSPACE\s+SUBJECT\s+DELIVERIES\s+REASON$/);
    expect(table.stdout[1]).toMatch(new RegExp(`^\\s*${first!.seq}\\s+\\S+ \\S+\\s+UNAUTHENTICATED\\s+${cluster.workspaceId}\\s+${cluster.ns.namespace}\\.cmd\\.submit\\s+1\\s+the command carries neither a Gantry-Token nor a Gantry-Grant header$`));

    // Replayed without a token, it is refused again: a new dead letter, so JetStream did not
    // drop the replay as a duplicate of the original (published with Nats-Msg-Id = its id).
    // The replay carries its own id, not the dead letter's Gantry-Original-Msg-Id.
    const replayed: Msg[] = [];
    const sub = cluster.ns.nc.subscribe(cluster.ns.names.subjects.command('submit'), { callback: (_e, m) => void replayed.push(m) });
    await cluster.ns.nc.flush();
    const plain = await cluster.gantry(['dead-letters', 'replay', String(first!.seq)], { GANTRY_TOKEN: undefined });
    expect(plain).toMatchObject({ code: EXIT.ok, stdout: [`replayed dead letter ${first!.seq} on ${cluster.ns.namespace}.cmd.submit`] });
    const replayId = `replay:${cluster.ns.names.streams.deadLetters}:${first!.seq}`;
    const [second] = await waitFor(async () => {
      const l = await listed();
      return l.length > 0 && l[0]!.seq !== first!.seq && l;
    }, 'the replay to be refused again');
    sub.unsubscribe();
    expect(replayed.map((m) => [m.headers?.get(Headers.msgId), m.headers?.has(Headers.originalMsgId)])).toEqual([[replayId, false]]);
    expect(second).toMatchObject({ code: 'UNAUTHENTICATED', body: JSON.stringify(command) });
    expect(second!.headers[Headers.originalMsgId]).toBe(replayId);

    // With a token of the workspace the command is accepted: the job is created and runs.
    const replay = await cluster.gantry(['dead-letters', 'replay', String(second!.seq), '--token', cluster.tokens.writer, '--json']);
    expect(replay.code, replay.stderr).toBe(EXIT.ok);
    expect(JSON.parse(replay.stdout[0]!)).toEqual({ seq: second!.seq, subject: `${cluster.ns.namespace}.cmd.submit`, duplicate: false });
    await waitFor(async () => {
      const { rows } = await cluster.pool.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [id]);
      return rows[0]?.status === 'COMPLETED';
    }, 'the replayed job to complete');
    expect(await listed()).toEqual([]);
    expect((await cluster.gantry(['dead-letters', 'list'])).stderr).toBe('no dead letters');
  });

  it('skips a command that would be refused again unless --force, and answers 3 for an unknown sequence', async () => {
    await jetstream(cluster.ns.nc).publish(cluster.ns.names.subjects.command('cancel'), 'not json', { msgID: randomUUID() });
    const [letter] = await waitFor(async () => {
      const l = await listed();
      return l.length > 0 && l;
    }, 'the malformed dead letter');
    expect(letter!.code).toBe('MALFORMED_JSON');
    const skipped = await cluster.gantry(['dead-letters', 'replay', '--all']);
    expect(skipped.code).toBe(EXIT.failed);
    expect(skipped.stderr).toBe(`skipped dead letter ${letter!.seq}: it would be refused again (command body is not valid UTF-8 JSON); fix the sender, or --force`);
    expect((await listed()).map((l) => l.seq)).toEqual([letter!.seq]);
    const missing = await cluster.gantry(['dead-letters', 'replay', '999999']);
    expect(missing).toMatchObject({ code: EXIT.notFound, stderr: 'error: no dead letter 999999' });
    const forced = await cluster.gantry(['dead-letters', 'replay', String(letter!.seq), '--force']);
    expect(forced.code).toBe(EXIT.ok);
    await waitFor(async () => {
      const l = await listed();
      return l.length === 1 && l[0]!.seq > letter!.seq;
    }, 'the forced replay to be dead-lettered again');
  });

  it('lists a stream with thousands of deleted sequences in one read a dead letter, and the letters of one workspace', async () => {
    const js = jetstream(cluster.ns.nc);
    const dlq = cluster.ns.names.subjects.deadLetter('submit');
    const before = (await listed()).map((l) => l.seq);
    const otherWorkspace = randomUUID();
    const first = await js.publish(dlq, JSON.stringify({ workspaceId: otherWorkspace.toUpperCase() }), { headers: letterHeaders('FIRST') });
    // Two thousand sequences between the two, gone as replays leave them.
    const filler = cluster.ns.names.subjects.deadLetter('filler');
    for (let i = 0; i < 2_000; i += 200) await Promise.all(Array.from({ length: 200 }, () => js.publish(filler, '')));
    await cluster.ns.jsm.streams.purge(cluster.ns.names.streams.deadLetters, { filter: filler });
    const last = await js.publish(dlq, 'not json', { headers: letterHeaders('LAST', cluster.workspaceId) });

    const reads: string[] = [];
    const sub = cluster.ns.nc.subscribe(`$JS.API.STREAM.MSG.GET.${cluster.ns.names.streams.deadLetters}`, { callback: (_e, m) => void reads.push(m.subject) });
    await cluster.ns.nc.flush();
    const letters = await listed();
    await cluster.ns.nc.flush();
    sub.unsubscribe();
    expect(letters.map((l) => [l.seq, l.code])).toEqual([...before.map((seq) => [seq, expect.any(String)]), [first.seq, 'FIRST'], [last.seq, 'LAST']]);
    // One read a dead letter, and one that finds none after the last.
    expect(reads).toHaveLength(letters.length + 1);
    const limited = await cluster.gantry(['dead-letters', 'list', '--json', '--limit', '1']);
    expect(limited.stdout.map((l) => (JSON.parse(l) as Listed).seq)).toEqual([before[0] ?? first.seq]);

    // One workspace's: the one its body names, else its Gantry-Workspace header.
    const ofOther = await cluster.gantry(['dead-letters', 'list', '--json', '--workspace', otherWorkspace]);
    expect(ofOther.stdout.map((l) => (JSON.parse(l) as Listed & { workspaceId: string }).workspaceId)).toEqual([otherWorkspace]);
    const ofCluster = await cluster.gantry(['dead-letters', 'list', '--json', '--workspace', cluster.workspaceId]);
    expect(ofCluster.stdout.map((l) => (JSON.parse(l) as Listed).seq)).toContain(last.seq);
    expect(ofCluster.stdout.map((l) => (JSON.parse(l) as Listed).seq)).not.toContain(first.seq);
    const replayed = await cluster.gantry(['dead-letters', 'replay', '--all', '--workspace', otherWorkspace, '--force']);
    expect(replayed).toMatchObject({ code: EXIT.ok, stdout: [`replayed dead letter ${first.seq} on ${cluster.ns.namespace}.cmd.submit`] });
    expect(await cluster.gantry(['dead-letters', 'replay', '1', '--workspace', otherWorkspace])).toMatchObject({ code: EXIT.usage, stderr: expect.stringMatching(/--workspace goes with --all/) });
    expect(await cluster.gantry(['dead-letters', 'list', '--workspace', 'cli'])).toMatchObject({ code: EXIT.usage, stderr: expect.stringMatching(/--workspace takes a workspace id/) });
  });

  it('says when the namespace has no dead-letter stream (3) or NATS cannot be reached (5)', async () => {
    const other = await cluster.gantry(['dead-letters', 'list'], { GANTRY_NAMESPACE: 'nosuchns' });
    expect(other.code).toBe(EXIT.notFound);
    expect(other.stderr).toMatch(/namespace nosuchns has no dead-letter stream/);
    const down = await cluster.gantry(['dead-letters', 'list'], { NATS_URL: 'nats://127.0.0.1:1' });
    expect(down.code).toBe(EXIT.unavailable);
    expect(down.stderr).toMatch(/^error: cannot reach NATS at nats:\/\/127\.0\.0\.1:1/);
  });
});
