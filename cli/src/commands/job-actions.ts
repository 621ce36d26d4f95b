/**
 * The commands that change a job: `cancel`, `retry`, `approve` and `reject` (a manual gate).
 * Each is one API call that changes the job (`retry` then waits for the scheduler to apply it);
 * the API answers 409 when the job's status does not allow it (exit 1).
 * A step is named by its id or by its name (looked up in the job).
 */
import { expectPositionals, isUuid } from '../args.js';
import { API_FLAGS, apiClient, jobPath, type ApiClient } from '../api/client.js';
import type { CommandAcceptedView, JobView } from '../api/views.js';
import { CliError, EXIT } from '../exit.js';
import { printable } from '../render/table.js';
import type { Command } from './command.js';

/** The id of step `step` (an id, or a step name) of job `jobId`. */
async function stepIdOf(client: ApiClient, jobId: string, step: string): Promise<string> {
  if (isUuid(step)) return step;
  const job = await client.get<JobView>(jobPath(jobId));
  const found = job.steps.find((s) => s.name === step);
  if (!found) throw new CliError(`job ${jobId} has no step named ${printable(JSON.stringify(step))} (its steps: ${printable(job.steps.map((s) => s.name).join(', '))})`, EXIT.notFound);
  return found.id;
}

export const cancel: Command = {
  words: ['cancel'],
  usage: 'cancel ID [--reason TEXT] [--json]',
  summary: 'Cancel a job: at once if it waits, by stopping its worker if it runs.',
  help: `A PENDING, QUEUED or WAITING job ends CANCELLED at once; a RUNNING one is aborted by its
worker, which runs CLEANUP and then ends it CANCELLED. A finished job cannot be cancelled (exit 1).

  --reason TEXT   recorded on the job's events
  --json          the job as it is after the cancel`,
  flags: { ...API_FLAGS, reason: 'value', json: 'switch' },
  async run(args, io) {
    const [id] = expectPositionals(args, ['ID']);
    const reason = args.values.get('reason');
    const { status, body } = await apiClient(args, io).post<JobView>(jobPath(id!, 'cancel'), reason === undefined ? {} : { reason });
    if (args.switches.has('json')) io.out(JSON.stringify(body));
    else io.out(status === 202 ? `${body.id} cancel requested: its worker is stopping it` : `${body.id} ${body.status}`);
    return 0;
  },
};

/** How long `retry` waits for the scheduler to queue the job's next attempt. */
export const RETRY_APPLIED_WITHIN_MS = 30_000;

export const retry: Command = {
  words: ['retry'],
  usage: 'retry ID [--no-wait] [--json]',
  summary: 'Run a FAILED or CANCELLED job again, with a fresh retry budget.',
  help: `The API hands the retry to the scheduler, which queues the job's next attempt. The command
waits (up to ${RETRY_APPLIED_WITHIN_MS / 1000} s) until it has, so that a \`gantry watch\` after it follows the new attempt
rather than ending on the old one's end; a retry not applied by then exits 5 (it may still be).

  --no-wait   return once the API accepted the retry
  --json      what the API accepted, with the new attempt when waited for`,
  flags: { ...API_FLAGS, 'no-wait': 'switch', json: 'switch' },
  async run(args, io) {
    const [id] = expectPositionals(args, ['ID']);
    const client = apiClient(args, io);
    const wait = !args.switches.has('no-wait');
    const before = wait ? (await client.get<JobView>(jobPath(id!))).attempt : 0;
    const { body } = await client.post<CommandAcceptedView>(jobPath(id!, 'retry'));
    if (!wait) {
      io.out(args.switches.has('json') ? JSON.stringify(body) : `${body.jobId} retry requested (command ${body.commandId})`);
      return 0;
    }
    const attempt = await nextAttempt(client, id!, before);
    io.out(args.switches.has('json') ? JSON.stringify({ ...body, attempt }) : `${body.jobId} queued again as attempt ${attempt} (command ${body.commandId})`);
    return 0;
  },
};

/** Polls job `id` until its attempt is past `before` (the scheduler applied a retry); its new attempt. */
async function nextAttempt(client: ApiClient, id: string, before: number): Promise<number> {
  const deadline = Date.now() + RETRY_APPLIED_WITHIN_MS;
  for (;;) {
    const { attempt } = await client.get<JobView>(jobPath(id));
    if (attempt > before) return attempt;
    if (Date.now() >= deadline) {
      throw new CliError(`job ${id}: the retry was accepted, but the scheduler has not queued it within ${RETRY_APPLIED_WITHIN_MS / 1000} s (it may still; see gantry get ${id})`, EXIT.unavailable);
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function decision(kind: 'approve' | 'reject'): Command {
  const textFlag = kind === 'approve' ? 'comment' : 'reason';
  return {
    words: [kind],
    usage: `${kind} ID STEP [--${textFlag} TEXT] [--json]`,
    summary:
      kind === 'approve'
        ? 'Approve the manual gate STEP (its id or name) a job waits on; the job goes on.'
        : 'Reject the manual gate STEP (its id or name) a job waits on; the job fails.',
    help: `Needs a token with the jobs:admin scope. Answers exit 1 when the job is not waiting on that gate.

  --${textFlag} TEXT   recorded with the decision
  --json${' '.repeat(textFlag.length + 2)}   what the API accepted`,
    flags: { ...API_FLAGS, [textFlag]: 'value', json: 'switch' },
    async run(args, io) {
      const [id, step] = expectPositionals(args, ['ID', 'STEP']);
      const client = apiClient(args, io);
      const stepId = await stepIdOf(client, id!, step!);
      const comment = args.values.get(textFlag);
      const { body } = await client.post<CommandAcceptedView>(jobPath(id!, 'steps', stepId, kind), comment === undefined ? {} : { comment });
      io.out(args.switches.has('json') ? JSON.stringify(body) : `${body.jobId} step ${step} ${kind === 'approve' ? 'approved' : 'rejected'}`);
      return 0;
    },
  };
}

export const approve = decision('approve');
export const reject = decision('reject');
