/** What the command handlers work with, and what they decide for each message. */
import type { NatsConnection } from '@nats-io/transport-node';
import type { CommandKind, CommandOf, ErrorCode, JobEvent, Names } from '@gantry/contracts';
import { byIds, type JobWriter, latestCancelReasonSql, type Pool, statement, waitingGateSql } from '@gantry/store';
import type { DispatchingTransaction } from '../dispatch/dispatcher.js';
import type { CommandAuthorizer, CommandCredential } from './authorize.js';

export interface CommandContext {
  pool: Pool;
  writer: JobWriter;
  names: Names;
  nc: NatsConnection;
  authorizer: CommandAuthorizer;
  /** Publishes events committed outside the writer (job creation). */
  fanOut: (committed: readonly { events: readonly JobEvent[] }[]) => void;
  /** Asks the dispatcher for a round (jobs were queued). */
  wakeDispatcher: () => void;
  /** Runs `work` in a transaction whose commit may dispatch the jobs it queues (`Dispatcher.transaction`). */
  transaction: <T>(work: (tx: DispatchingTransaction) => Promise<T>) => Promise<T>;
}

/** A parsed command and the credential it carried. */
export interface Incoming<K extends CommandKind> {
  command: CommandOf<K>;
  credential: CommandCredential | undefined;
}

/** What to do with a command's message once its handler is done. */
export type Outcome =
  | { kind: 'done'; effect: 'applied' | 'noop' }
  | { kind: 'refuse'; code: ErrorCode; reason: string }
  /** Not handled now (its write failed): delivered again later, while the rest of its batch stands. */
  | { kind: 'retry'; error: unknown };

export const applied: Outcome = { kind: 'done', effect: 'applied' };
export const noop: Outcome = { kind: 'done', effect: 'noop' };
export function refuse(code: ErrorCode, reason: string): Outcome {
  return { kind: 'refuse', code, reason };
}

/** A job row as the handlers read it. */
export interface JobRow {
  id: string;
  workspace_id: string;
  status: string;
  attempt: number;
  failures: number;
  max_attempts: number;
  run_at: Date | null;
  worker_id: string | null;
  /** A cancel was requested while it ran and no attempt has honoured it yet (`cancel_requested_at`). */
  cancel_pending: boolean;
  /** That cancel's reason, read only when one is pending. */
  cancel_reason: string | null;
  /** A WAITING job's gate, which a cancel skips; null in any other status. */
  waiting_step_id: string | null;
}

/** The jobs of `$1`, a JSON array of ids (`byIds`: a plan made once, not on every call). */
const READ_JOBS = statement(
  'gantry_read_command_jobs',
  `SELECT j.id, j.workspace_id, j.status, j.attempt, j.failures, j.max_attempts, j.run_at, j.worker_id,
     j.cancel_requested_at IS NOT NULL AS cancel_pending,
     CASE WHEN j.cancel_requested_at IS NOT NULL THEN ${latestCancelReasonSql('j.id')} END AS cancel_reason,
     ${waitingGateSql('j')} AS waiting_step_id
   FROM ${byIds('runner_jobs', '$1', 'j')}`,
);

/** Reads the jobs named by a batch of commands, in one query. */
export async function readJobs(ctx: CommandContext, ids: readonly string[]): Promise<Map<string, JobRow>> {
  const { rows } = await ctx.pool.query<JobRow>(READ_JOBS([JSON.stringify(ids)]));
  return new Map(rows.map((r) => [r.id, r]));
}

/** The scheduler's view of a job for the write builders. */
export function stateOf(job: JobRow) {
  return { id: job.id, attempt: job.attempt, failures: job.failures, maxAttempts: job.max_attempts, runAt: job.run_at };
}
