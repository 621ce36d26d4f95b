/**
 * `gantry dead-letters replay` with a dead letter named twice (or deleted meanwhile by another
 * replay) replayed it, then failed on its delete ("no message found"): it exited 1 after a replay
 * that had succeeded and left the letters after it unreplayed. A letter is replayed once now, and
 * one already deleted counts as replayed.
 */
import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { EXIT } from './cli.js';
import { useTestCluster, waitFor } from './test-cluster.js';

const cluster = useTestCluster();

async function listedSeqs(): Promise<number[]> {
  const run = await cluster.gantry(['dead-letters', 'list', '--json'], { GANTRY_TOKEN: undefined });
  return run.stdout.map((l) => (JSON.parse(l) as { seq: number }).seq);
}

describe('gantry dead-letters replay naming a sequence twice', () => {
  it('replays it once, reports success, and goes on with the sequences after it', async () => {
    const js = jetstream(cluster.ns.nc);
    await js.publish(cluster.ns.names.subjects.command('cancel'), 'not json', { msgID: randomUUID() });
    await js.publish(cluster.ns.names.subjects.command('cancel'), 'not json either', { msgID: randomUUID() });
    const [a, b] = await waitFor(async () => {
      const l = await listedSeqs();
      return l.length === 2 && l;
    }, 'two dead letters');
    const run = await cluster.gantry(['dead-letters', 'replay', String(a), String(a), String(b), '--force'], { GANTRY_TOKEN: undefined });
    // README: "repeating a replay is still a no-op". The second mention of `a` must not fail
    // the command, nor stop it before it replays `b`.
    expect(run.stderr).toBe('');
    expect(run.code).toBe(EXIT.ok);
    expect(run.stdout).toContain(`replayed dead letter ${b} on ${cluster.ns.namespace}.cmd.cancel`);
    expect(await listedSeqs()).not.toContain(b);
  });
});
