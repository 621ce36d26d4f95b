/**
 * The messages the API sends to the rest of Gantry: commands on `<ns>.cmd.<kind>` (JetStream,
 * `Nats-Msg-Id` = the command id, the HTTP request id in `Gantry-Request-Id`, the workspace in
 * `Gantry-Workspace`) and cancel signals on `<ns>.ctl.cancel.<workerId>` (core NATS).
 *
 * Submits are announced after their commit without holding the HTTP answer (`announcer.ts`):
 * the job is already PENDING in PostgreSQL, which the scheduler's reconciler re-publishes from,
 * so a publish that fails (NATS down) or is skipped (backlog full) delays the job but loses
 * nothing. Retry and approve commands have no such outbox: the request waits for the PubAck and answers
 * 503 when NATS does not give one.
 */
import { jetstreamManager, type PubAck } from '@nats-io/jetstream';
import { headers as makeHeaders, type MsgHdrs } from '@nats-io/transport-node';
import {
  CURRENT_COMMAND_VERSION,
  GantryError,
  Headers,
  type ApproveCommand,
  type CancelSignal,
  type CommandKind,
  type RetryCommand,
  type SubmitCommand,
} from '@gantry/contracts';
import type { OutgoingMessage } from '@gantry/runtime';
import { derivedUuid, signGrant } from '@gantry/store';
import type { ApiDeps } from './deps.js';

/** The header every message sent for an HTTP request carries. */
function requestHeaders(requestId: string): Record<string, string> {
  return { [Headers.requestId]: requestId };
}

/** Headers every command published for an HTTP request carries: the request id and the command's workspace. */
export function commandHeaders(command: { readonly workspaceId: string }, requestId: string): Record<string, string> {
  return { ...requestHeaders(requestId), [Headers.workspace]: command.workspaceId };
}

/**
 * The submit command announcing stored PENDING jobs of one workspace (at most
 * `Limits.maxBatchJobs`): their ids only, since the scheduler finds the rest in PostgreSQL. Its
 * id is the job's id for one job and derived from the ids otherwise, so announcing the same jobs
 * again is dropped by JetStream's duplicate window.
 */
export function submitCommand(workspaceId: string, jobIds: readonly string[], actor: string, issuedAt: string, priority: number): SubmitCommand {
  const id = jobIds.length === 1 ? jobIds[0]! : derivedUuid('submit', ...jobIds);
  return { v: CURRENT_COMMAND_VERSION, id, kind: 'submit', workspaceId, jobs: jobIds.map((jobId) => ({ jobId })), priority, actor, issuedAt };
}

/** The outgoing message of a submit command. */
export function submitMessage(deps: Pick<ApiDeps, 'names'>, command: SubmitCommand, requestId: string): OutgoingMessage {
  return {
    subject: deps.names.subjects.command('submit'),
    data: JSON.stringify(command),
    msgId: command.id,
    headers: commandHeaders(command, requestId),
  };
}

/** A retry or approve command, as built by the routes. */
export type ControlCommand = RetryCommand | ApproveCommand;

/** Who a command is published for: the HTTP caller's token. */
export interface CommandCaller {
  readonly tokenId: string;
  /** The bearer token itself, sent only when the API has no COMMAND_SIGNING_KEY. */
  readonly token: string;
}

/**
 * Publishes `command` and waits for JetStream to store it; UNAVAILABLE when it does not. The
 * scheduler checks the caller's token again (docs/protocol.md, Messages), since only the submit
 * of a job the API stored needs none: with COMMAND_SIGNING_KEY the command carries a grant
 * (`Gantry-Grant`: the token's id, signed with the message), else the bearer token itself
 * (`Gantry-Token`), which then rests in the commands stream until the scheduler acks it.
 */
export async function publishCommand(deps: ApiDeps, command: ControlCommand, requestId: string, caller: CommandCaller): Promise<PubAck> {
  const kind: CommandKind = command.kind;
  const data = JSON.stringify(command);
  const key = deps.settings.commandSigningKey;
  const credential: Record<string, string> = key === ''
    ? { [Headers.token]: caller.token }
    : { [Headers.grant]: signGrant(key, caller.tokenId, Buffer.from(data, 'utf8')) };
  try {
    return await deps.publisher.publish(deps.names.subjects.command(kind), data, {
      msgId: command.id,
      headers: { ...commandHeaders(command, requestId), ...credential },
    });
  } catch (cause) {
    deps.logger.warn({ err: cause, command: kind, commandId: command.id }, 'command not published');
    throw new GantryError('UNAVAILABLE', `the ${kind} command could not be published; nothing changed, retry later`, { cause });
  }
}

/** Publishes of one decision at most: the first, and again after as many settled copies. */
const DECISION_PUBLISHES = 3;

/**
 * Publishes a retry or a gate decision, whose id is derived from what it decides on (the job,
 * its attempt, the gate), so that a repeated request publishes nothing new within the commands
 * stream's duplicate window (2 minutes); answers the id of the command that stands for it.
 *
 * A repeat whose first copy the scheduler settled without effect (dead-lettered: its token was
 * revoked meanwhile, its grant could not be checked) would be dropped as a duplicate too, and
 * answered 202 for nothing. So when JetStream answers a duplicate whose first copy is no longer
 * in the stream (settled: the scheduler acks a command only after its commit), and
 * `stillApplies()`, read after that, finds the job as the first copy did, the command is
 * published again under an id derived from the first copy's stream sequence: concurrent repeats
 * derive the same one, and JetStream keeps one of them.
 */
export async function publishDecision(
  deps: ApiDeps,
  command: ControlCommand,
  requestId: string,
  caller: CommandCaller,
  stillApplies: () => Promise<boolean>,
): Promise<string> {
  let current = command;
  for (let publishes = 1; ; publishes++) {
    const ack = await publishCommand(deps, current, requestId, caller);
    if (!ack.duplicate || publishes >= DECISION_PUBLISHES) return current.id;
    if (await commandStored(deps, ack.seq, current.id)) return current.id;
    if (!(await stillApplies())) return current.id;
    current = { ...current, id: derivedUuid(command.id, 'after', ack.seq) };
  }
}

/**
 * True while the commands stream holds message `seq`: the scheduler has not settled it yet. A
 * read that fails (NATS busy, a user without `$JS.API.STREAM.MSG.GET` on the stream) answers
 * true: the request is answered as the duplicate it seems to be, as before this check.
 */
async function commandStored(deps: ApiDeps, seq: number, commandId: string): Promise<boolean> {
  try {
    const jsm = await jetstreamManager(deps.nc, { checkAPI: false });
    return (await jsm.streams.getMessage(deps.names.streams.commands, { seq })) !== null;
  } catch (err) {
    deps.logger.warn({ err, commandId, seq }, 'could not tell whether a repeated command was settled; answered as a duplicate');
    return true;
  }
}

/**
 * Tells the worker holding a job to abort the attempt. Core NATS, fire and forget: if it is lost
 * the scheduler's reconciler re-sends it while the job's `cancel_requested_at` is set.
 */
export function sendCancelSignal(deps: ApiDeps, workerId: string, signal: CancelSignal, requestId: string): void {
  try {
    deps.nc.publish(deps.names.subjects.cancel(workerId), JSON.stringify(signal), {
      headers: natsHeaders(requestHeaders(requestId)),
    });
  } catch (err) {
    deps.logger.warn({ err, workerId, jobId: signal.jobId }, 'cancel signal not sent: left to the reconciler');
  }
}


function natsHeaders(values: Record<string, string>): MsgHdrs {
  const h = makeHeaders();
  for (const [k, v] of Object.entries(values)) h.set(k, v);
  return h;
}
