/**
 * The leader's command consumer: a durable pull consumer on the commands stream. A message is
 * queued for its workspace as it arrives and read (size, JSON, version, kind) and checked
 * against its schema only when its workspace's turn comes. Reading a 200 KB flood command costs
 * 1–8 ms, and the edge takes messages in their order: read there, a workspace's flood held the
 * next workspace's command behind every command of the flood that arrived first. So the edge
 * only learns the workspace: from the `Gantry-Workspace` header, else from a peek at the body's
 * bytes up to its first top-level `workspaceId` (`peekWorkspaceId`: microseconds for a body
 * that names it before its jobs). The command must name the workspace it was queued for, or it
 * is refused; a body the peek cannot place is read at the edge. Messages are handled in passes
 * of at most `batchSize` messages and `batchBytes` bytes (one message always fits), taken round-robin
 * across workspaces — each workspace's commands in their order — so that a workspace that
 * published ten thousand jobs does not hold another's behind all of them, neither in the passes
 * nor in the schema checks of its commands that arrived first, nor while a pass of its commands
 * runs: passes of different workspaces run side by side. Within a workspace, a submit that
 * carries its jobs' specs may overtake earlier such submits of lower priority that name none of
 * its jobs (`overtaking.ts`); nothing overtakes any other command. Refused ones are
 * dead-lettered and acked, valid ones are handled in waves that keep each workspace's order
 * (`inWaves`), each wave by kind in one set-based call per kind, and every message is acked only
 * after the commit that consumed it. A batch that fails for a
 * transient reason (PostgreSQL unreachable) is nak'ed with a delay; after the consumer's
 * `max_deliver` the server's advisory dead-letters it (see `advisories.ts`). Commands held
 * for their pass are reported in progress so that the server does not deliver them again
 * meanwhile (see `held.ts`).
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import {
  COMMAND_KINDS,
  type CommandKind,
  GantryError,
  Headers,
  isGantryError,
  Limits,
  type Names,
  peekWorkspaceId,
  type RawCommand,
  readCommand,
  validateCommand,
} from '@gantry/contracts';
import { aborted, delay, type Logger } from '@gantry/runtime';
import type { SchedulerMetrics } from '../metrics.js';
import { type CommandCredential, credentialOf } from './authorize.js';
import type { CommandContext, Incoming, Outcome } from './context.js';
import { commandKindOf, commandLabelOf, type DeadLetterer } from './dead-letter.js';
import { handleApprovals, handleCancels, handleRetries } from './job-commands.js';
import { HeldMessages } from './held.js';
import { inRankOrder, type Rank, rankOf } from './overtaking.js';
import { handleSubmits } from './submit.js';

export interface CommandConsumerOptions {
  js: JetStreamClient;
  names: Names;
  ctx: CommandContext;
  deadLetter: DeadLetterer;
  metrics: SchedulerMetrics;
  logger: Logger;
  /** Messages handled in one pass at most. */
  batchSize?: number;
  /** Bytes of commands handled in one pass at most; default {@link DEFAULT_BATCH_BYTES}. */
  batchBytes?: number;
}

/** A message as it arrived: read (not yet checked against its schema), or refused. */
type Read = { msg: JsMsg; raw: RawCommand<CommandKind>; credential: CommandCredential | undefined } | { msg: JsMsg; refusal: GantryError };

/** A message when its pass comes: a valid command, or refused. */
type Parsed = { msg: JsMsg; kind: CommandKind; incoming: Incoming<CommandKind> } | { msg: JsMsg; refusal: GantryError };

/**
 * A message waiting for its pass, queued for `workspace`: the one its body names, or the one its
 * `Gantry-Workspace` header names, in which case the body is read when first asked for.
 */
class Queued {
  readonly msg: JsMsg;
  readonly bytes: number;
  readonly workspace: string;
  #read: Read | undefined;
  #rank: Rank | undefined | null = null;
  readonly #readBody: () => Read;

  constructor(msg: JsMsg, workspace: string, readBody: () => Read) {
    this.msg = msg;
    this.bytes = msg.data.byteLength;
    this.workspace = workspace;
    this.#readBody = readBody;
  }

  get read(): Read {
    return (this.#read ??= this.#readBody());
  }

  /** For a submit that may overtake earlier ones of its workspace (`overtaking.ts`). */
  get rank(): Rank | undefined {
    if (this.#rank === null) this.#rank = 'raw' in this.read ? rankOf(this.read.raw) : undefined;
    return this.#rank;
  }
}

const HANDLERS: { [K in CommandKind]: (ctx: CommandContext, batch: readonly Incoming<K>[]) => Promise<Outcome[]> } = {
  submit: handleSubmits,
  cancel: handleCancels,
  retry: handleRetries,
  approve: handleApprovals,
};

const NAK_DELAY_MS = 1_000;

/** How long after a put-back command is due the commands behind it are given back on stepping down. */
const GIVE_BACK_MARGIN_MS = 100;

/** A command put back: when, and when the server is due to deliver it again. */
interface PutBack {
  readonly at: number;
  readonly due: number;
}

/**
 * Passes running at once at most; no two share a workspace. A command naming a job of another
 * workspace is refused as before, except while that job's own creation is still in flight in
 * the other pass: then it creates nothing (the job id exists when it inserts) and is a no-op.
 */
export const MAX_PASSES = 2;

/** Default byte budget of one pass: about 400 standard jobs in batched submits. */
export const DEFAULT_BATCH_BYTES = 128 * 1024;

/** The workspace a message is queued for before it is read, and where it was found. */
export interface ArrivalWorkspace {
  readonly workspace: string;
  readonly from: 'header' | 'body';
}

/**
 * The workspace a message can be queued for before it is read: the one its `Gantry-Workspace`
 * header names, else the first top-level `workspaceId` of its body (`peekWorkspaceId`), unless
 * the body is over the size limit (its read refuses it at once). Undefined: read it to know.
 * Lower case, like {@link workspaceOf}.
 */
export function workspaceOnArrival(msg: Pick<JsMsg, 'headers' | 'data'>): ArrivalWorkspace | undefined {
  const named = msg.headers?.get(Headers.workspace);
  if (named) return { workspace: named.toLowerCase(), from: 'header' };
  const peeked = msg.data.byteLength <= Limits.maxCommandBytes ? peekWorkspaceId(msg.data) : undefined;
  return peeked === undefined ? undefined : { workspace: peeked.toLowerCase(), from: 'body' };
}

/**
 * The workspace a read message claims to speak for ('' for a refused one or none); the schema
 * check and authorisation come later. Lower case, as the schema makes it: a workspace's commands
 * are queued, held back and put back under one key however their sender spells its id.
 */
function workspaceOf(r: Read): string {
  if (!('raw' in r)) return '';
  const claimed = r.raw.value.workspaceId;
  return typeof claimed === 'string' ? claimed.toLowerCase() : '';
}

/**
 * Checks a read message against its command's schema. A check that throws something other than
 * its answer (a fault, or input that outran a guard) refuses the message with what it threw:
 * one message must not stop the consumer, and the dead letter keeps it.
 */
function validate(r: Read): Parsed {
  if (!('raw' in r)) return r;
  try {
    return { msg: r.msg, kind: r.raw.kind, incoming: { command: validateCommand(r.raw), credential: r.credential } };
  } catch (err) {
    if (isGantryError(err)) return { msg: r.msg, refusal: err };
    return { msg: r.msg, refusal: new GantryError('VALIDATION_FAILED', `the ${r.raw.kind} command could not be checked: ${err instanceof Error ? err.message : String(err)}`, { cause: err }) };
  }
}

/**
 * Takes the next pass off `queue`: round-robin across workspaces, the workspace served least
 * recently first (`lastServed`: pass number per workspace, updated here), each workspace's
 * messages in arrival order but for the submits `inRankOrder` lets overtake, within `maxCount`
 * messages and `maxBytes` bytes (the first always fits), leaving the messages of `busy`
 * workspaces (a pass of theirs is running) queued.
 */
export function takePass<T extends { readonly bytes: number; readonly workspace: string; readonly rank?: Rank | undefined }>(
  queue: T[],
  maxCount: number,
  maxBytes: number,
  lastServed: Map<string, number>,
  pass: number,
  busy: ReadonlySet<string> = new Set(),
): T[] {
  const byWorkspace = new Map<string, { items: number[]; smallest: number }>();
  queue.forEach((item, i) => {
    const group = byWorkspace.get(item.workspace);
    if (group) {
      group.items.push(i);
      group.smallest = Math.min(group.smallest, item.bytes);
    } else byWorkspace.set(item.workspace, { items: [i], smallest: item.bytes });
  });
  const chosen = new Set<number>();
  let bytes = 0;
  const order = [...byWorkspace.keys()].filter((w) => !busy.has(w)).sort((a, b) => (lastServed.get(a) ?? -1) - (lastServed.get(b) ?? -1));
  // A workspace's messages are put in rank order (which reads them) on its first turn, and not
  // at all when none of them fits what is left of the budget.
  const lists = new Map<string, number[]>();
  const listOf = (w: string) => {
    let list = lists.get(w);
    if (list === undefined) {
      list = inRankOrder(byWorkspace.get(w)!.items.map((i) => ({ i, rank: queue[i]!.rank }))).map((x) => x.i);
      lists.set(w, list);
    }
    return list;
  };
  const served = (taken: T[]) => {
    for (const t of taken) lastServed.set(t.workspace, pass);
    // Forget workspaces with nothing queued, so the map stays as small as the queue's spread.
    for (const w of lastServed.keys()) if (!byWorkspace.has(w)) lastServed.delete(w);
    return taken;
  };
  for (let turn = 0; chosen.size < maxCount; turn++) {
    let any = false;
    for (const w of order) {
      const group = byWorkspace.get(w)!;
      if (turn >= group.items.length) continue;
      any = true;
      if (chosen.size > 0 && bytes + group.smallest > maxBytes) return served(splice(queue, chosen));
      const i = listOf(w)[turn]!;
      if (chosen.size > 0 && bytes + queue[i]!.bytes > maxBytes) return served(splice(queue, chosen));
      chosen.add(i);
      bytes += queue[i]!.bytes;
      if (chosen.size >= maxCount) break;
    }
    if (!any) break;
  }
  return served(splice(queue, chosen));
}

/**
 * A pass's commands (each workspace's in its order) in waves to handle one after another: wave i
 * holds each workspace's i-th run of consecutive commands of one kind. A wave's commands are
 * handled by kind, one set-based call per kind, so no command is handled before an earlier one
 * of its workspace (a cancel that follows a retry of the same job sees the job queued again),
 * and a pass of one kind, a flood's, is one call.
 */
export function inWaves<T extends { readonly kind: CommandKind; readonly workspace: string }>(commands: readonly T[]): T[][] {
  const runs = new Map<string, { index: number; kind: CommandKind }>();
  const waves: T[][] = [];
  for (const command of commands) {
    const last = runs.get(command.workspace);
    const index = last === undefined ? 0 : last.kind === command.kind ? last.index : last.index + 1;
    runs.set(command.workspace, { index, kind: command.kind });
    (waves[index] ??= []).push(command);
  }
  return waves;
}

function splice<T>(queue: T[], chosen: ReadonlySet<number>): T[] {
  const taken = [...chosen].sort((a, b) => a - b).map((i) => queue[i]!);
  const rest = queue.filter((_, i) => !chosen.has(i));
  queue.length = 0;
  queue.push(...rest);
  return taken;
}

/**
 * How long a workspace waits at most for a command of its that was put back: longer than any
 * redelivery takes, short enough that a lost one (see {@link CommandConsumer.givenUp}) does not
 * hold the workspace for long.
 */
const STALL_LIMIT_MS = 120_000;

export class CommandConsumer {
  readonly #opts: CommandConsumerOptions;
  readonly #batchSize: number;
  readonly #batchBytes: number;
  /**
   * Workspaces whose commands wait for earlier ones that were put back (their handling failed):
   * workspace → the put-back messages' stream sequences, each with when it was put back and when
   * the server is due to deliver it again.
   */
  readonly #stalled = new Map<string, Map<number, PutBack>>();
  #held: HeldMessages | undefined;

  constructor(opts: CommandConsumerOptions) {
    this.#opts = opts;
    this.#batchSize = opts.batchSize ?? 1_000;
    this.#batchBytes = opts.batchBytes ?? DEFAULT_BATCH_BYTES;
  }

  /** Consumes until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { js, names } = this.#opts;
    const consumer = await js.consumers.get(names.streams.commands, names.consumers.scheduler);
    const { config } = await consumer.info(true);
    // The server's wait before it redelivers a held command: the first backoff step, else the ack wait.
    const redeliveryNanos = config.backoff?.[0] ?? config.ack_wait ?? 30e9;
    const held = new HeldMessages(Math.round(redeliveryNanos / 1e6));
    this.#held = held;
    const messages = await consumer.consume({ max_messages: this.#batchSize * 2 });
    const queue: Queued[] = [];
    const lastServed = new Map<string, number>();
    let passes = 0;
    let notify: (() => void) | undefined;
    const pump = (async () => {
      for await (const msg of messages) {
        if (!held.hold(msg)) continue;
        const queued = this.#queued(msg);
        queue.push(queued);
        // A put-back command back: once all of its workspace's are, they go first, in their order.
        if (this.#back(queued.workspace, msg.seq)) queue.sort((a, b) => a.msg.seq - b.msg.seq);
        notify?.();
      }
    })();
    const stopped = aborted(signal).then(() => messages.close());
    // Passes run side by side (up to MAX_PASSES) when they share no workspace: a workspace's
    // commands stay in order, and a flood's pass does not hold another workspace's behind it.
    const busy = new Set<string>();
    const running = new Set<Promise<void>>();
    let failure: { err: unknown } | undefined;
    try {
      while (!signal.aborted && failure === undefined) {
        // A workspace with a command put back takes no pass until the command is back.
        const waiting = this.#waiting(busy);
        if (running.size >= MAX_PASSES || !queue.some((q) => !waiting.has(q.workspace))) {
          const expiry = this.#stalled.size > 0 ? [delay(1_000, signal)] : [];
          await Promise.race([new Promise<void>((resolve) => (notify = resolve)), stopped, ...running, ...expiry]);
          notify = undefined;
          continue;
        }
        const pass = takePass(queue, this.#batchSize, this.#batchBytes, lastServed, passes++, waiting);
        const workspaces = new Set(pass.map((q) => q.workspace));
        for (const w of workspaces) busy.add(w);
        let deferred: ReadonlySet<JsMsg> = new Set();
        const run: Promise<void> = this.process(pass.map((q) => validate(q.read)))
          .then((later) => void (deferred = new Set(later)))
          .catch((err: unknown) => {
            failure ??= { err };
          })
          .finally(() => {
            // Commands that wait for a put-back one of their workspace go back in the queue,
            // still held, and take their turn after it, in their order.
            if (deferred.size > 0) {
              queue.push(...pass.filter((q) => deferred.has(q.msg)));
              queue.sort((a, b) => a.msg.seq - b.msg.seq);
            }
            held.release(pass.filter((q) => !deferred.has(q.msg)).map((q) => q.msg));
            for (const w of workspaces) busy.delete(w);
            running.delete(run);
            notify?.();
          });
        running.add(run);
      }
      if (failure !== undefined) throw failure.err;
    } finally {
      await messages.close();
      await pump.catch(() => undefined);
      // The next leader may lead already (this one was deposed, or its lease ran out): the
      // commands no pass holds go back to the server at once, not once the running passes end,
      // or the next leader would handle newer commands of their workspaces before them. Those
      // of a workspace whose pass still runs go back after it, in their order.
      this.#giveBack(queue, (q) => !busy.has(q.workspace));
      await Promise.allSettled([...running]);
      this.#giveBack(queue, () => true);
      held.clear();
      this.#held = undefined;
      this.#stalled.clear();
    }
  }

  /**
   * True while this consumer holds command `streamSequence` (received, not yet settled), or put
   * it back and waits for it to be delivered again: either way it is pending at the server, not
   * given up, and the sweep of given-up commands must leave it alone.
   */
  holds(streamSequence: number): boolean {
    if (this.#held?.has(streamSequence)) return true;
    for (const pending of this.#stalled.values()) if (pending.has(streamSequence)) return true;
    return false;
  }

  /**
   * A put-back command the server will not deliver again (its deliveries are used up, and the
   * MAX_DELIVERIES advisory dead-letters it): its workspace no longer waits for it.
   */
  givenUp(streamSequence: number): void {
    for (const [workspace, pending] of this.#stalled) {
      if (pending.delete(streamSequence) && pending.size === 0) this.#stalled.delete(workspace);
    }
  }

  /** `busy` and the workspaces waiting for a put-back command (those waiting past {@link STALL_LIMIT_MS} are let go). */
  #waiting(busy: ReadonlySet<string>): ReadonlySet<string> {
    if (this.#stalled.size === 0) return busy;
    const oldest = Date.now() - STALL_LIMIT_MS;
    for (const [workspace, pending] of this.#stalled) {
      for (const [seq, { at }] of pending) if (at < oldest) pending.delete(seq);
      if (pending.size === 0) this.#stalled.delete(workspace);
    }
    return new Set([...busy, ...this.#stalled.keys()]);
  }

  /** Notes message `seq` of `workspace` back; true when that was the last its workspace waited for. */
  #back(workspace: string, seq: number): boolean {
    const pending = this.#stalled.get(workspace);
    if (!pending?.delete(seq) || pending.size > 0) return false;
    this.#stalled.delete(workspace);
    return true;
  }

  /** Puts a command back, to be delivered again; its workspace's later commands wait for it (see {@link #waiting}). */
  #putBack(msg: JsMsg, workspace: string, kind: CommandKind): void {
    this.#held?.release([msg]);
    const wait = NAK_DELAY_MS * msg.info.deliveryCount;
    msg.nak(wait);
    this.#opts.metrics.commands.inc({ command: kind, outcome: 'retried' });
    let pending = this.#stalled.get(workspace);
    if (!pending) this.#stalled.set(workspace, (pending = new Map()));
    const now = Date.now();
    pending.set(msg.seq, { at: now, due: now + wait });
  }

  /**
   * Hands the queued messages that `pick` selects back to the server, unhandled, for whoever
   * leads next: at once, but for those of a workspace that waits for a put-back command, which
   * go back just after it is due, so that the next leader receives it first.
   */
  #giveBack(queue: Queued[], pick: (q: Queued) => boolean): void {
    const leaving: Queued[] = [];
    const staying: Queued[] = [];
    for (const q of queue) (pick(q) ? leaving : staying).push(q);
    if (leaving.length === 0) return;
    queue.splice(0, queue.length, ...staying);
    const now = Date.now();
    for (const q of leaving) {
      const due = Math.max(0, ...[...(this.#stalled.get(q.workspace)?.values() ?? [])].map((p) => p.due));
      q.msg.nak(due > now ? due - now + GIVE_BACK_MARGIN_MS : undefined);
    }
    this.#held?.release(leaving.map((q) => q.msg));
  }

  /**
   * Handles one pass: refuse, handle in waves by kind (see {@link inWaves}), ack after commit. A
   * command whose handling failed is put back (delivered again later); every later command of
   * its workspace in the pass is left unhandled, none may be applied before it, and returned:
   * the caller queues them again, held, behind it. They are not put back themselves, which
   * would spend one of their own deliveries on each failure of the earlier command, until the
   * server gave them up with it.
   */
  async process(parsed: readonly Parsed[]): Promise<JsMsg[]> {
    for (const p of parsed) {
      if ('refusal' in p) await this.#refuse(p.msg, p.refusal.code, p.refusal.message);
    }
    const valid = parsed.filter((p): p is Extract<Parsed, { kind: CommandKind }> => 'kind' in p);
    const putBack = new Set<string>();
    const deferred: JsMsg[] = [];
    for (const wave of inWaves(valid.map((p) => ({ ...p, workspace: p.incoming.command.workspaceId })))) {
      for (const kind of COMMAND_KINDS) {
        const group = wave.filter((p) => p.kind === kind);
        for (const p of group) if (putBack.has(p.workspace)) deferred.push(p.msg);
        const now = group.filter((p) => !putBack.has(p.workspace));
        if (now.length > 0) for (const workspace of await this.#handle(kind, now)) putBack.add(workspace);
      }
    }
    return deferred;
  }

  /** `msg` queued for its workspace: unread when {@link workspaceOnArrival} tells it, else read now. */
  #queued(msg: JsMsg): Queued {
    const known = workspaceOnArrival(msg);
    if (known === undefined) {
      const read = this.#read(msg);
      return new Queued(msg, workspaceOf(read), () => read);
    }
    return new Queued(msg, known.workspace, () => this.#readQueuedFor(msg, known));
  }

  /**
   * Reads a message queued for workspace `queuedFor`, refusing it if the command names another:
   * its header's, or the first its body names, which differs from the parse's (the last) only
   * when the body names two.
   */
  #readQueuedFor(msg: JsMsg, queuedFor: ArrivalWorkspace): Read {
    const read = this.#read(msg);
    if (!('raw' in read)) return read;
    const claimed = workspaceOf(read);
    // A body that names no workspace is refused by the schema check, with that reason.
    if (claimed === queuedFor.workspace || claimed === '') return read;
    const [queued, parsed] = [JSON.stringify(queuedFor.workspace), JSON.stringify(claimed)];
    const reason = queuedFor.from === 'header'
      ? `the ${Headers.workspace} header names workspace ${queued} but the command names ${parsed}`
      : `the command names workspaceId twice: first ${queued}, then ${parsed}`;
    return { msg, refusal: new GantryError('VALIDATION_FAILED', reason, { issues: [{ path: 'workspaceId', message: `expected ${queued}` }] }) };
  }

  #read(msg: JsMsg): Read {
    const kind = commandKindOf(this.#opts.names, msg.subject);
    if (!(COMMAND_KINDS as readonly string[]).includes(kind)) {
      return { msg, refusal: new GantryError('UNKNOWN_SUBJECT', `no command is published on ${msg.subject}`) };
    }
    try {
      return { msg, raw: readCommand(kind as CommandKind, msg.data), credential: credentialOf(msg) };
    } catch (err) {
      if (isGantryError(err)) return { msg, refusal: err };
      throw err;
    }
  }

  /** Handles a group of one kind; returns the workspaces of the commands it put back. */
  async #handle(kind: CommandKind, group: readonly { msg: JsMsg; incoming: Incoming<CommandKind>; workspace: string }[]): Promise<Set<string>> {
    const handler = HANDLERS[kind] as (ctx: CommandContext, batch: readonly Incoming<CommandKind>[]) => Promise<Outcome[]>;
    const putBack = new Set<string>();
    let outcomes: Outcome[];
    let batchFailed = false;
    try {
      outcomes = await handler(this.#opts.ctx, group.map((g) => g.incoming));
    } catch (err) {
      this.#opts.logger.error({ err, kind, count: group.length }, 'command batch failed; will be redelivered');
      outcomes = group.map(() => ({ kind: 'retry', error: err }));
      batchFailed = true;
    }
    for (const [i, g] of group.entries()) {
      const outcome = outcomes[i]!;
      if (outcome.kind === 'refuse') {
        await this.#refuse(g.msg, outcome.code, outcome.reason);
      } else if (outcome.kind === 'retry') {
        if (!batchFailed) this.#opts.logger.error({ err: outcome.error, kind, seq: g.msg.seq }, 'command failed; will be redelivered');
        this.#putBack(g.msg, g.workspace, kind);
        putBack.add(g.workspace);
      } else {
        g.msg.ack();
        this.#opts.metrics.commands.inc({ command: kind, outcome: outcome.effect });
      }
    }
    return putBack;
  }

  async #refuse(msg: JsMsg, code: GantryError['code'], reason: string): Promise<void> {
    try {
      await this.#opts.deadLetter(
        { subject: msg.subject, data: msg.data, headers: msg.headers, streamSequence: msg.seq, deliveries: msg.info.deliveryCount },
        code,
        reason,
      );
      msg.ack();
      this.#opts.metrics.commands.inc({ command: commandLabelOf(this.#opts.names, msg.subject), outcome: 'dead_lettered' });
    } catch (err) {
      this.#opts.logger.error({ err, seq: msg.seq }, 'could not dead-letter a command; it will be redelivered');
      msg.nak(NAK_DELAY_MS);
    }
  }
}
