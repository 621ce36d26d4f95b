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
import { storableString } from './json.js';
import { Limits, Priority } from './limits.js';
import type { CommandKind } from './names.js';

/** Command schema versions this release reads. */
export const COMMAND_VERSIONS = [1] as const;
export const CURRENT_COMMAND_VERSION = 1;

/**
 * A UUID as PostgreSQL writes it (lower case), whatever case it arrives in: the scheduler
 * compares ids it reads back from PostgreSQL with a command's as text, and an upper-case id
 * found nothing (an approval acked with no effect).
 */
const uuid = () => z.uuid().toLowerCase();

const base = {
  v: z.literal(CURRENT_COMMAND_VERSION),
  id: uuid().describe('Command id; also the Nats-Msg-Id.'),
  workspaceId: uuid(),
  actor: storableString(Limits.maxNameLength)
    .min(1)
    .optional()
    .describe('Who asked, for the audit trail: recorded for the submit of a job the API stored; a command checked against its Gantry-Token or Gantry-Grant is recorded as that token (api:<token id>).'),
  issuedAt: z.iso.datetime({ offset: true }).optional(),
};

/**
 * One job of a batched submit: its id (chosen by the publisher, so a redelivery creates nothing
 * twice) and its spec — which a job already stored PENDING (the API's) does not need.
 */
export const SubmittedJob = z
  .strictObject({
    jobId: uuid().describe('Id of the job.'),
    job: JobSpec.optional().describe('The job; required unless the job is already stored (PENDING).'),
  })
  .meta({ id: 'SubmittedJob' });
export type SubmittedJob = z.infer<typeof SubmittedJob>;

export const SubmitCommand = z
  .strictObject({
    ...base,
    kind: z.literal('submit'),
    jobId: uuid().optional().describe('Id for the new job (with `job`); the command id when absent.'),
    job: JobSpec.optional().describe('The job; exactly one of `job` and `jobs`.'),
    jobs: z
      .array(SubmittedJob)
      .min(1)
      .max(Limits.maxBatchJobs)
      .optional()
      .describe(`Up to ${Limits.maxBatchJobs} jobs of the workspace in one command, each with its own id; exactly one of \`job\` and \`jobs\`.`),
    priority: z
      .int()
      .min(Priority.min)
      .max(Priority.max)
      .optional()
      .describe(
        'The highest priority among stored jobs named without their spec (the API sends it): lets the scheduler take this submit before earlier, lower ones of the workspace. A hint for ordering only; the stored jobs keep their own priority.',
      ),
  })
  .superRefine((command, ctx) => {
    if ((command.job === undefined) === (command.jobs === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['job'], message: 'a submit carries exactly one of `job` and `jobs`' });
    }
    if (command.jobs !== undefined && command.jobId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['jobId'], message: 'with `jobs`, each job carries its own `jobId`' });
    }
    const seen = new Set<string>();
    const keys = new Map<string, number>();
    command.jobs?.forEach((j, i) => {
      if (seen.has(j.jobId)) ctx.addIssue({ code: 'custom', path: ['jobs', i, 'jobId'], message: 'repeats an earlier jobId of the command' });
      seen.add(j.jobId);
      // As the API's batch route refuses it: two jobs of one batch cannot share a key.
      const key = j.job?.idempotencyKey;
      if (key === undefined) return;
      const first = keys.get(key);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['jobs', i, 'job', 'idempotencyKey'], message: `repeats the idempotency key of jobs.${first}` });
      else keys.set(key, i);
    });
  })
  .meta({
    id: 'SubmitCommand',
    description:
      'Create jobs (if new) and queue them: one job (`job`, id `jobId` or the command id) or a batch (`jobs`, each with its id). A batch is validated as a whole: one invalid job dead-letters the command.',
  });
export type SubmitCommand = z.infer<typeof SubmitCommand>;

/** The jobs a submit command carries, each with its id. */
export function submittedJobs(command: SubmitCommand): SubmittedJob[] {
  // With `job`, the refinement guarantees there is no `jobs`.
  if (command.jobs !== undefined) return command.jobs;
  return [{ jobId: command.jobId ?? command.id, job: command.job! }];
}

export const CancelCommand = z
  .strictObject({
    ...base,
    kind: z.literal('cancel'),
    jobId: uuid(),
    reason: storableString(Limits.maxReasonLength).optional(),
  })
  .meta({ id: 'CancelCommand', description: 'Cancel a job; a running job is aborted on its worker.' });
export type CancelCommand = z.infer<typeof CancelCommand>;

export const RetryCommand = z
  .strictObject({
    ...base,
    kind: z.literal('retry'),
    jobId: uuid(),
  })
  .meta({ id: 'RetryCommand', description: 'Start a new attempt of a FAILED or CANCELLED job.' });
export type RetryCommand = z.infer<typeof RetryCommand>;

export const ApproveCommand = z
  .strictObject({
    ...base,
    kind: z.literal('approve'),
    jobId: uuid(),
    stepId: uuid(),
    decision: z.enum(['approve', 'reject']),
    comment: storableString(Limits.maxReasonLength).optional(),
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
