/**
 * The dead-letter stream (`<NS>_DEAD_LETTERS`, subjects `<ns>.dlq.<kind>`), read and replayed
 * directly over NATS. The scheduler writes each refused or undeliverable command there with its
 * original headers (minus the token and `Nats-Msg-Id`), `Gantry-Dead-Letter-Code/-Reason`,
 * `Gantry-Original-Subject/-Sequence/-Msg-Id` and `Gantry-Deliveries`.
 *
 * Replaying publishes the original body on the original subject with the original headers (the
 * dead-letter ones removed), then deletes the dead letter. The original command id cannot be its
 * `Nats-Msg-Id`: inside the commands stream's duplicate window JetStream would take the replay
 * for the original and drop it (its PubAck says `duplicate`), and the dead letter would be
 * deleted for nothing. The replay's id is `replay:<stream>:<sequence>` instead — new for every
 * dead letter, yet the same if one replay is repeated (a crash between publish and delete), so
 * a repeat is still a no-op. The command's own `id` in the body is unchanged, so the scheduler
 * treats it as the same command (idempotent there too). `Gantry-Original-Msg-Id` stays behind
 * with the other dead-letter headers: should the replay be dead-lettered again, its dead letter
 * names the replay's id.
 */
import { jetstream, jetstreamManager, JetStreamApiError, JetStreamApiCodes, type JetStreamManager, type NextMsgRequest, type SeqMsgRequest } from '@nats-io/jetstream';
import { headers as natsHeaders, type NatsConnection } from '@nats-io/transport-node';
import { COMMAND_KINDS, Headers, names as namesOf, parseCommand, peekWorkspaceId, type CommandKind, type Names } from '@gantry/contracts';
import { connectNats, createLogger, loadConfig } from '@gantry/runtime';
import { CliError, EXIT } from '../exit.js';
import type { CliIo } from '../io.js';

/** One dead letter as the CLI shows it. */
export interface DeadLetter {
  /** Its sequence in the dead-letter stream: what `replay` takes. */
  readonly seq: number;
  readonly time: string;
  readonly subject: string;
  /** Where the command was first published (what a replay publishes to). */
  readonly originalSubject: string;
  readonly code: string;
  readonly reason: string;
  readonly deliveries: number | null;
  /** The workspace its body names (else its Gantry-Workspace header), lower case; null when neither does. */
  readonly workspaceId: string | null;
  readonly headers: Readonly<Record<string, string>>;
  readonly data: Uint8Array;
}

/** Headers the dead-lettering added, and those a replay must not carry over. */
const DEAD_LETTER_HEADERS = [Headers.deadLetterCode, Headers.deadLetterReason, Headers.originalSubject, Headers.originalSequence, Headers.deliveries, Headers.originalMsgId, Headers.token, Headers.grant].map((h) => h.toLowerCase());

/** What a command needs: the namespace's names, a connection and its JetStream manager. */
export interface DeadLetterContext {
  readonly names: Names;
  readonly nc: NatsConnection;
  readonly jsm: JetStreamManager;
}

/** Connects to NATS as `NATS_URL`, `GANTRY_NAMESPACE` and the NATS_* credentials say; runs `fn`; closes. */
export async function withDeadLetters<T>(io: CliIo, fn: (ctx: DeadLetterContext) => Promise<T>): Promise<T> {
  const config = loadConfig({}, io.env);
  const logger = createLogger({ service: 'cli', version: '0', level: 'silent' });
  let nc: NatsConnection;
  try {
    nc = await connectNats(config, { name: 'gantry-cli', logger, connectTimeoutMs: 5_000 });
  } catch (err) {
    throw new CliError(`cannot reach NATS at ${config.natsUrl.join(',')}: ${(err as Error).message}`, EXIT.unavailable, { cause: err });
  }
  try {
    return await fn({ names: namesOf(config.gantryNamespace), nc, jsm: await jetstreamManager(nc) });
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.StreamNotFound) {
      throw new CliError(`namespace ${config.gantryNamespace} has no dead-letter stream (is GANTRY_NAMESPACE right, and has the scheduler provisioned it?)`, EXIT.notFound);
    }
    throw err;
  } finally {
    await nc.close();
  }
}

function toDeadLetter(msg: { seq: number; subject: string; time: Date; header?: { keys(): string[]; get(k: string): string } | undefined; data: Uint8Array }, names: Names): DeadLetter {
  const headers: Record<string, string> = {};
  for (const key of msg.header?.keys() ?? []) headers[key] = msg.header!.get(key);
  const kind = msg.subject.slice(`${names.namespace}.dlq.`.length);
  const deliveries = Number(headers[Headers.deliveries]);
  return {
    seq: msg.seq,
    time: msg.time.toISOString(),
    subject: msg.subject,
    originalSubject: headers[Headers.originalSubject] ?? `${names.namespace}.cmd.${kind}`,
    code: headers[Headers.deadLetterCode] ?? 'UNKNOWN',
    reason: headers[Headers.deadLetterReason] ?? '',
    deliveries: Number.isSafeInteger(deliveries) ? deliveries : null,
    workspaceId: (peekWorkspaceId(msg.data) ?? headers[Headers.workspace])?.toLowerCase() ?? null,
    headers,
    data: msg.data,
  };
}

/** The dead letter at `seq`, or null. */
export async function getDeadLetter(ctx: DeadLetterContext, seq: number): Promise<DeadLetter | null> {
  try {
    const msg = await ctx.jsm.streams.getMessage(ctx.names.streams.deadLetters, { seq });
    return msg ? toDeadLetter(msg, ctx.names) : null;
  } catch (err) {
    if (err instanceof JetStreamApiError && err.code === JetStreamApiCodes.NoMessageFound) return null;
    throw err;
  }
}

/**
 * Up to `limit` dead letters, oldest first; with `workspaceId`, only those of that workspace.
 * Each read asks the server for the first dead letter
 * at or after a sequence (`next_by_subj`, NATS 2.9 and later), so the sequences that replays
 * deleted cost nothing: one request a dead letter, however sparse the stream.
 */
export async function listDeadLetters(ctx: DeadLetterContext, limit: number, workspaceId?: string): Promise<DeadLetter[]> {
  const found: DeadLetter[] = [];
  for (let seq = 1; found.length < limit; ) {
    // `streams.getMessage` is typed for `seq` or `last_by_subj` alone (the direct get's request
    // type has `next_by_subj`); the server's stream API takes it too. None left: null.
    const query: NextMsgRequest & SeqMsgRequest = { seq, next_by_subj: ctx.names.subjects.deadLettersAll };
    const msg = await ctx.jsm.streams.getMessage(ctx.names.streams.deadLetters, query);
    if (!msg) break;
    const letter = toDeadLetter(msg, ctx.names);
    if (workspaceId === undefined || letter.workspaceId === workspaceId) found.push(letter);
    seq = msg.seq + 1;
  }
  return found;
}

/** Why `letter` would be refused again, or null when its body is a valid command for its subject. */
export function stillInvalid(ctx: DeadLetterContext, letter: DeadLetter): string | null {
  const prefix = `${ctx.names.namespace}.cmd.`;
  const kind = letter.originalSubject.startsWith(prefix) ? letter.originalSubject.slice(prefix.length) : '';
  if (!(COMMAND_KINDS as readonly string[]).includes(kind)) return `${letter.originalSubject} is not a command subject of namespace ${ctx.names.namespace}`;
  try {
    parseCommand(kind as CommandKind, letter.data);
    return null;
  } catch (err) {
    return (err as Error).message;
  }
}

/** What a replay did. */
export interface Replayed {
  readonly seq: number;
  readonly subject: string;
  /** True when an earlier replay of this dead letter had already published it. */
  readonly duplicate: boolean;
}

/** Republishes `letter` on its original subject (with `token` as Gantry-Token if given) and deletes it. */
export async function replayDeadLetter(ctx: DeadLetterContext, letter: DeadLetter, token: string | undefined): Promise<Replayed> {
  const h = natsHeaders();
  for (const [key, value] of Object.entries(letter.headers)) {
    if (key.toLowerCase().startsWith('nats-') || DEAD_LETTER_HEADERS.includes(key.toLowerCase())) continue;
    h.set(key, value);
  }
  if (token) h.set(Headers.token, token);
  const ack = await jetstream(ctx.nc).publish(letter.originalSubject, letter.data, {
    headers: h,
    msgID: `replay:${ctx.names.streams.deadLetters}:${letter.seq}`,
  });
  try {
    await ctx.jsm.streams.deleteMessage(ctx.names.streams.deadLetters, letter.seq, false);
  } catch (err) {
    // Deleted meanwhile: named twice, or replayed by someone else at the same time (whose
    // publish this one's msgID made a duplicate of). Replayed either way.
    if (!isNoMessage(err)) throw err;
  }
  return { seq: letter.seq, subject: letter.originalSubject, duplicate: ack.duplicate };
}

/** True for the server's answer to a delete of a message that is not there. */
function isNoMessage(err: unknown): boolean {
  return err instanceof Error && /no message found/i.test(err.message);
}
