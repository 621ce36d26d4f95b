/**
 * Decisions the scheduler carries out: a manual retry of a FAILED or CANCELLED job (protocol
 * move 18) and the decision on an approval gate a job is parked on (moves 16 and 17). The API
 * checks that the decision applies now (409 otherwise), publishes the command and answers 202
 * once JetStream has stored it. The scheduler applies it under its own guard, so a decision that
 * races another change is refused there, never applied twice.
 *
 * Command ids are derived from the job, its attempt (and the step and decision), so repeating a
 * request within the commands stream's duplicate window publishes nothing new, unless the first
 * command was settled without effect (`publishDecision`). Each command carries a credential of
 * the caller's token for the scheduler's own check (`publishCommand`).
 */
import { CURRENT_COMMAND_VERSION, GantryError, JobStatus, StepStatus, type ApproveCommand, type RetryCommand } from '@gantry/contracts';
import { derivedUuid } from '@gantry/store';
import { bearerToken } from '../auth/authenticator.js';
import { publishDecision } from '../commands.js';
import { defineRoute } from '../http/route.js';
import { getJobRow, type Queryable } from '../jobs/read.js';
import { CommandAccepted, DecisionRequest, JobParams, RetryRequest, StepParams } from '../schemas.js';

const RETRYABLE: readonly JobStatus[] = [JobStatus.FAILED, JobStatus.CANCELLED];

/**
 * Whether `job` is still as the decision read it: the same status at the same attempt. A job
 * parks on one gate per attempt, and every decision moves it on (a new attempt, or an end), so
 * this says too that a WAITING job's gate still waits.
 */
async function unchanged(db: Queryable, workspaceId: string, job: { id: string; status: JobStatus; attempt: number }): Promise<boolean> {
  const now = await getJobRow(db, workspaceId, job.id);
  return now.status === job.status && now.attempt === job.attempt;
}

export const retryJobRoute = defineRoute({
  method: 'POST',
  url: '/runner-jobs/:id/retry',
  summary: 'Retry a failed or cancelled job',
  description: 'Asks the scheduler for a new attempt with a fresh retry budget. Other statuses answer 409.',
  scope: 'jobs:write',
  params: JobParams,
  body: RetryRequest,
  bodyOptional: true,
  responses: { 202: { description: 'The retry command was accepted.', schema: CommandAccepted } },
  errors: [409, 503],
  async handler(ctx) {
    const { workspaceId, tokenId } = ctx.principal;
    const job = await getJobRow(ctx.deps.pool, workspaceId, ctx.params.id);
    if (!RETRYABLE.includes(job.status)) {
      throw new GantryError('INVALID_TRANSITION', `job ${job.id} is ${job.status}; only a FAILED or CANCELLED job can be retried`);
    }
    const command: RetryCommand = {
      v: CURRENT_COMMAND_VERSION,
      id: derivedUuid('retry', job.id, job.attempt),
      kind: 'retry',
      workspaceId,
      jobId: job.id,
      actor: `api:${tokenId}`,
      issuedAt: new Date().toISOString(),
    };
    const commandId = await publishDecision(ctx.deps, command, String(ctx.req.id), { tokenId, token: bearerToken(ctx.req.headers.authorization)! }, () => unchanged(ctx.deps.pool, workspaceId, job));
    return { status: 202, body: { jobId: job.id, commandId, kind: 'retry' } };
  },
});

interface GateRow {
  /** The step's id as PostgreSQL writes it (lower case), whatever the URL's spelling. */
  id: string;
  type: string;
  status: StepStatus;
  spec: { kind?: unknown };
}

async function waitingGate(db: Queryable, jobId: string, stepId: string): Promise<GateRow> {
  const { rows } = await db.query<GateRow>('SELECT id, type, status, spec FROM job_steps WHERE id = $1 AND job_id = $2', [stepId, jobId]);
  const step = rows[0];
  if (!step) throw new GantryError('NOT_FOUND', `job ${jobId} has no step ${stepId}`);
  return step;
}

function decisionRoute(decision: ApproveCommand['decision']) {
  return defineRoute({
    method: 'POST',
    url: `/runner-jobs/:id/steps/:stepId/${decision}`,
    summary: decision === 'approve' ? 'Approve a manual gate' : 'Reject a manual gate',
    description:
      decision === 'approve'
        ? 'The job goes back to the queue and continues after the gate. Answers 409 unless the step is an approval gate the job is waiting on.'
        : 'The gate fails and the job ends FAILED. Answers 409 unless the step is an approval gate the job is waiting on.',
    scope: 'jobs:admin',
    params: StepParams,
    body: DecisionRequest,
    bodyOptional: true,
    responses: { 202: { description: 'The decision was accepted.', schema: CommandAccepted } },
    errors: [409, 503],
    async handler(ctx) {
      const { workspaceId, tokenId } = ctx.principal;
      const job = await getJobRow(ctx.deps.pool, workspaceId, ctx.params.id);
      const step = await waitingGate(ctx.deps.pool, job.id, ctx.params.stepId);
      const isApproval = step.type === 'GATE' && step.spec.kind === 'approval';
      if (!isApproval || step.status !== StepStatus.WAITING || job.status !== JobStatus.WAITING) {
        const what = isApproval ? `an approval gate in status ${step.status} (job ${job.status})` : `a ${step.type} step, not an approval gate`;
        throw new GantryError('INVALID_TRANSITION', `step ${ctx.params.stepId} is ${what}; only a waiting approval gate can be decided`);
      }
      const command: ApproveCommand = {
        v: CURRENT_COMMAND_VERSION,
        id: derivedUuid('approve', job.id, step.id, job.attempt, decision),
        kind: 'approve',
        workspaceId,
        jobId: job.id,
        stepId: step.id,
        decision,
        ...(ctx.body.comment === undefined ? {} : { comment: ctx.body.comment }),
        actor: `api:${tokenId}`,
        issuedAt: new Date().toISOString(),
      };
      const commandId = await publishDecision(ctx.deps, command, String(ctx.req.id), { tokenId, token: bearerToken(ctx.req.headers.authorization)! }, () => unchanged(ctx.deps.pool, workspaceId, job));
      return { status: 202, body: { jobId: job.id, commandId, kind: 'approve', decision } };
    },
  });
}

export const approveRoute = decisionRoute('approve');
export const rejectRoute = decisionRoute('reject');
