/**
 * Appends events to `job_events` with COPY (see `copy-rows.ts`). The caller holds the row locks
 * of the events' jobs (or created them in its transaction) and has assigned their sequences.
 */
import type { JobEvent } from '@gantry/contracts';
import type { PoolClient } from '../db/pool.js';
import { copyRows } from './copy-rows.js';

const COLUMNS = ['id', 'job_id', 'step_id', 'workspace_id', 'sequence', 'type', 'actor', 'attempt', 'payload'] as const;

/** Streams `events` into `job_events`; `created_at` takes the transaction's time. */
export async function copyEvents(client: PoolClient, events: readonly JobEvent[]): Promise<void> {
  await copyRows(
    client,
    'job_events',
    COLUMNS,
    events.map((e) => [e.id, e.jobId, e.stepId, e.workspaceId, e.sequence, e.type, e.actor, e.attempt, e.payload]),
  );
}
