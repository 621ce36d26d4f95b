/**
 * Test support for the command consumer: the dead letters written so far, and a way to have
 * several commands taken in one pass.
 */
import { randomUUID } from 'node:crypto';
import type { MsgHdrs } from '@nats-io/transport-node';
import { vi } from 'vitest';
import { Headers, type JobSpecInput, MetricNames } from '@gantry/contracts';
import type { Pool } from '@gantry/store';
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

/** A change made between a command pass's read of a job and its write: see {@link betweenReadAndWrite}. */
export interface Interleaved {
  /** Whether the change was made. */
  readonly made: () => boolean;
  /** Stops watching the pool's queries. */
  readonly restore: () => void;
}

/**
 * Makes `change` (given the pool's own query) right after the first read of job `jobId` by a
 * command pass (`gantry_read_command_jobs`), before the pass writes: a change that commits
 * between the two, as a worker's claim or the API's cancel can.
 */
export function betweenReadAndWrite(pool: Pool, jobId: string, change: (query: (text: string, values?: unknown[]) => Promise<unknown>) => Promise<void>): Interleaved {
  const query = pool.query.bind(pool) as (...args: unknown[]) => Promise<unknown>;
  let made = false;
  const spy = vi.spyOn(pool, 'query').mockImplementation((async (...args: unknown[]) => {
    const config = args[0] as { name?: string; values?: unknown[] };
    const read = await query(...args);
    if (!made && config.name === 'gantry_read_command_jobs' && String(config.values?.[0]).includes(jobId)) {
      made = true;
      await change((text, values) => query(text, values));
    }
    return read;
  }) as never);
  return { made: () => made, restore: () => spy.mockRestore() };
}

/** A job's status and attempt, as stored. */
export async function jobStatus(pool: Pool, id: string): Promise<{ status: string; attempt: number } | undefined> {
  const { rows } = await pool.query<{ status: string; attempt: number }>('SELECT status, attempt FROM runner_jobs WHERE id = $1', [id]);
  return rows[0];
}

/** A job's event types, in order. */
export async function eventTypes(pool: Pool, id: string): Promise<string[]> {
  const { rows } = await pool.query<{ type: string }>('SELECT type FROM job_events WHERE job_id = $1 ORDER BY sequence', [id]);
  return rows.map((r) => r.type);
}

/** How many commands of `command` the consumer counted with each outcome. */
export async function commandOutcomes(h: SchedulerTestContext, command: string): Promise<Record<string, number>> {
  const metric = await h.metrics.registry.getSingleMetric(MetricNames.commandsProcessed)!.get();
  const out: Record<string, number> = {};
  for (const v of metric.values) if (v.labels.command === command) out[String(v.labels.outcome)] = (out[String(v.labels.outcome)] ?? 0) + v.value;
  return out;
}

/** A failure PostgreSQL injects into the tests' jobs: see {@link failingUpdates}. */
export interface FailingUpdates {
  /** Makes `jobId`'s updates that match fail until {@link heal}. */
  fail(jobId: string): Promise<void>;
  heal(jobId: string): Promise<void>;
  /** Removes the trigger, its function and its table. */
  drop(): Promise<void>;
}

/**
 * A real failure of PostgreSQL for a command's write: a trigger `name` of the test's own
 * database that raises on an UPDATE of `runner_jobs` matching `when` (a condition on OLD and NEW)
 * for the jobs listed by {@link FailingUpdates.fail}.
 */
export async function failingUpdates(pool: Pool, name: string, when: string): Promise<FailingUpdates> {
  await pool.query(`CREATE TABLE ${name} (job_id uuid PRIMARY KEY)`);
  await pool.query(`
    CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF (${when}) AND EXISTS (SELECT 1 FROM ${name} WHERE job_id = NEW.id) THEN
        RAISE EXCEPTION 'injected failure for job %', NEW.id;
      END IF;
      RETURN NEW;
    END $$`);
  await pool.query(`CREATE TRIGGER ${name} BEFORE UPDATE ON runner_jobs FOR EACH ROW EXECUTE FUNCTION ${name}()`);
  return {
    fail: async (jobId) => void (await pool.query(`INSERT INTO ${name} VALUES ($1)`, [jobId])),
    heal: async (jobId) => void (await pool.query(`DELETE FROM ${name} WHERE job_id = $1`, [jobId])),
    drop: async () => {
      await pool.query(`DROP TRIGGER IF EXISTS ${name} ON runner_jobs`);
      await pool.query(`DROP FUNCTION IF EXISTS ${name}()`);
      await pool.query(`DROP TABLE IF EXISTS ${name}`);
    },
  };
}
