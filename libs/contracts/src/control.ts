/**
 * Messages between Gantry's own services: dispatches (JetStream, scheduler → worker pool),
 * worker heartbeats, cancel signals and express dispatches with their answers (core NATS).
 */
import { z } from 'zod';

/** The scheduler hands one job attempt to a pool. `Nats-Msg-Id` is `<jobId>:<attempt>`. */
export const Dispatch = z
  .strictObject({
    v: z.literal(1),
    jobId: z.uuid(),
    workspaceId: z.uuid(),
    attempt: z.int().min(1),
    term: z.int().min(1).describe('Leader term of the scheduler that dispatched it.'),
    dispatchedAt: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'Dispatch', description: 'One job attempt handed to a worker pool.' });
export type Dispatch = z.infer<typeof Dispatch>;

/** The dedup id of a dispatch. */
export function dispatchMsgId(jobId: string, attempt: number): string {
  return `${jobId}:${attempt}`;
}

/** A worker's liveness beat; the scheduler's free-slot credit comes from these. */
export const Heartbeat = z
  .strictObject({
    v: z.literal(1),
    workerId: z.string().min(1).max(128),
    pool: z.string(),
    slots: z.int().min(0),
    busy: z.int().min(0),
    jobs: z.array(z.strictObject({ jobId: z.uuid(), attempt: z.int().min(1) })),
    draining: z.boolean(),
    express: z
      .strictObject({ slots: z.int().min(1), busy: z.int().min(0) })
      .optional()
      .describe('The express slots (jobs at or above the scheduler\'s express priority, beyond `slots`); absent when the worker has none.'),
    version: z.string(),
    startedAt: z.iso.datetime({ offset: true }),
    at: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'Heartbeat', description: 'A worker says it is alive and how busy it is.' });
export type Heartbeat = z.infer<typeof Heartbeat>;

/** Sent to the worker holding a job: abort the attempt. */
export const CancelSignal = z
  .strictObject({
    v: z.literal(1),
    jobId: z.uuid(),
    attempt: z.int().min(1),
    reason: z.enum(['cancelled', 'timeout']),
  })
  .meta({ id: 'CancelSignal', description: 'Abort a running attempt on its worker.' });
export type CancelSignal = z.infer<typeof CancelSignal>;

/**
 * A worker's answer to an express dispatch (the request is a {@link Dispatch} on the worker's
 * express subject), sent once its claim of the attempt committed or was refused: accepted, it
 * holds the claimed attempt in an express slot; refused, the scheduler returns the job to the
 * backlog at once.
 */
export const ExpressAnswer = z
  .strictObject({
    v: z.literal(1),
    accepted: z.boolean(),
    reason: z
      .enum(['full', 'draining', 'invalid', 'unclaimed'])
      .optional()
      .describe('Why it was refused: no free express slot, the worker drains, an invalid dispatch, or the claim was refused or not made.'),
  })
  .meta({ id: 'ExpressAnswer', description: 'A worker takes or refuses an express dispatch.' });
export type ExpressAnswer = z.infer<typeof ExpressAnswer>;

/** How often a worker beats, and how many missed beats make it lost. */
export const HeartbeatPolicy = {
  intervalMs: 1_000,
  lostAfterMs: 10_000,
} as const;
