/**
 * Commands: what the API and other services publish on `<ns>.cmd.<kind>` for the scheduler.
 * Each body carries its schema version `v`; a command with an unknown version, an invalid body,
 * or a size over {@link Limits.maxCommandBytes} is dead-lettered with its reason.
 *
 * `Nats-Msg-Id` is the command `id`: JetStream drops a repeat within the dedup window and the
 * database's unique keys decide beyond it.
 */
import { z } from 'zod';
import { JobSpec } from './jobs.js';
import { Limits } from './limits.js';
import type { CommandKind } from './names.js';

/** Command schema versions this release reads. */
export const COMMAND_VERSIONS = [1] as const;
export const CURRENT_COMMAND_VERSION = 1;

const base = {
  v: z.literal(CURRENT_COMMAND_VERSION),
  id: z.uuid().describe('Command id; also the Nats-Msg-Id.'),
  workspaceId: z.uuid(),
  actor: z.string().min(1).max(Limits.maxNameLength).optional().describe('Who asked, for the audit trail.'),
  issuedAt: z.iso.datetime({ offset: true }).optional(),
};

export const SubmitCommand = z
  .strictObject({
    ...base,
    kind: z.literal('submit'),
    jobId: z.uuid().optional().describe('Id for the new job; the command id when absent.'),
    job: JobSpec,
  })
  .meta({ id: 'SubmitCommand', description: 'Create a job (if new) and queue it.' });
export type SubmitCommand = z.infer<typeof SubmitCommand>;

export const CancelCommand = z
  .strictObject({
    ...base,
    kind: z.literal('cancel'),
    jobId: z.uuid(),
    reason: z.string().max(Limits.maxReasonLength).optional(),
  })
  .meta({ id: 'CancelCommand', description: 'Cancel a job; a running job is aborted on its worker.' });
export type CancelCommand = z.infer<typeof CancelCommand>;

export const RetryCommand = z
  .strictObject({
    ...base,
    kind: z.literal('retry'),
    jobId: z.uuid(),
  })
  .meta({ id: 'RetryCommand', description: 'Start a new attempt of a FAILED or CANCELLED job.' });
export type RetryCommand = z.infer<typeof RetryCommand>;

export const ApproveCommand = z
  .strictObject({
    ...base,
    kind: z.literal('approve'),
    jobId: z.uuid(),
    stepId: z.uuid(),
    decision: z.enum(['approve', 'reject']),
    comment: z.string().max(Limits.maxReasonLength).optional(),
  })
  .meta({ id: 'ApproveCommand', description: 'Decide a manual approval gate.' });
export type ApproveCommand = z.infer<typeof ApproveCommand>;

/** The schema of each command kind. */
export const COMMAND_SCHEMAS = {
  submit: SubmitCommand,
  cancel: CancelCommand,
  retry: RetryCommand,
  approve: ApproveCommand,
} as const satisfies Record<CommandKind, z.ZodType>;

export type Command = SubmitCommand | CancelCommand | RetryCommand | ApproveCommand;
export type CommandOf<K extends CommandKind> = z.infer<(typeof COMMAND_SCHEMAS)[K]>;
