/**
 * Test support for the command consumer: the dead letters written so far, and a way to have
 * several commands taken in one pass.
 */
import { randomUUID } from 'node:crypto';
import type { MsgHdrs } from '@nats-io/transport-node';
import { Headers, type JobSpecInput } from '@gantry/contracts';
import { createToken, createWorkspace, type TestNamespace } from '@gantry/testkit';
import { publishCommand, waitFor } from './harness.js';
import type { SchedulerTestContext } from './use-scheduler.js';

/** A dead letter as the tests read it. */
export interface DeadLetter {
  /** The subject the command was published on. */
  readonly subject: string;
  readonly code: string;
  readonly reason: string;
  /** The command's `Nats-Msg-Id` ('' when it had none). */
  readonly originalMsgId: string;
  readonly headers: MsgHdrs;
}

/** Every dead letter of the namespace so far, oldest first. */
export async function deadLetters(ns: TestNamespace): Promise<DeadLetter[]> {
  const info = await ns.jsm.streams.info(ns.names.streams.deadLetters);
  const out: DeadLetter[] = [];
  for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
    const m = await ns.jsm.streams.getMessage(ns.names.streams.deadLetters, { seq });
    if (!m) continue;
    out.push({
      subject: m.header.get(Headers.originalSubject),
      code: m.header.get(Headers.deadLetterCode),
      reason: m.header.get(Headers.deadLetterReason),
      originalMsgId: m.header.get(Headers.originalMsgId),
      headers: m.header,
    });
  }
  return out;
}

/** The codes of the dead letters of the command `originalMsgId`. */
export async function deadLetterCodes(ns: TestNamespace, originalMsgId: string): Promise<string[]> {
  return (await deadLetters(ns)).filter((d) => d.originalMsgId === originalMsgId).map((d) => d.code);
}

const blockerJob: JobSpecInput = { type: 'blocker', steps: [{ name: 'only', phase: 'EXECUTION', type: 'NOOP' }] };

/**
 * Runs `publish` while the consumer's two pass slots are held by passes of two other workspaces
 * that wait on a lock of their workspace rows, then lets them go: the commands `publish` sent
 * (`sent` of them) are delivered meanwhile and taken together, in one pass.
 */
export async function inOnePass(h: SchedulerTestContext, sent: number, publish: () => Promise<void>): Promise<void> {
  const blockers = [await createWorkspace(h.pool), await createWorkspace(h.pool)];
  const tokens = [await createToken(h.pool, blockers[0]!), await createToken(h.pool, blockers[1]!)];
  const client = await h.pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT id FROM workspaces WHERE id = ANY($1::uuid[]) FOR UPDATE', [blockers]);
    for (const [i, w] of blockers.entries()) {
      await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId: w, jobs: [{ jobId: randomUUID(), job: blockerJob }] }, { [Headers.token]: tokens[i]! });
    }
    await waitFor(async () => {
      const { rows } = await h.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND application_name = 'scheduler-test'`);
      return rows[0]!.n >= 2;
    }, 10_000, 'two passes blocked');
    const pending = async () => (await h.ns.jsm.consumers.info(h.ns.names.streams.commands, h.ns.names.consumers.scheduler)).num_ack_pending;
    const before = await pending();
    await publish();
    await waitFor(async () => (await pending()) >= before + sent, 10_000, 'the commands delivered');
    await client.query('COMMIT');
  } finally {
    client.release();
  }
}
