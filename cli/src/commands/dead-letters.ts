/**
 * `gantry dead-letters list` and `gantry dead-letters replay SEQ…|--all`: operator commands on
 * the dead-letter stream, straight over NATS (`NATS_URL`, `GANTRY_NAMESPACE`), like `workspace`
 * and `token` work straight on the database. See `dead-letters/store.ts` for how a replay keeps
 * JetStream's duplicate detection from swallowing it.
 */
import { intFlag, isUuid, UsageError } from '../args.js';
import { getDeadLetter, listDeadLetters, replayDeadLetter, stillInvalid, withDeadLetters, type DeadLetter } from '../dead-letters/store.js';
import { EXIT } from '../exit.js';
import { formatTime, table } from '../render/table.js';
import type { Command } from './command.js';

const MAX_LIST = 100_000;

/** `--workspace ID`, lower case, or undefined; a value that is not a workspace id is a usage error. */
function workspaceFlag(values: ReadonlyMap<string, string>): string | undefined {
  const id = values.get('workspace');
  if (id !== undefined && !isUuid(id)) throw new UsageError(`--workspace takes a workspace id (a UUID), got ${JSON.stringify(id)}`);
  return id?.toLowerCase();
}

function asJson(letter: DeadLetter) {
  const { data, ...rest } = letter;
  return { ...rest, body: new TextDecoder().decode(data) };
}

export const deadLettersList: Command = {
  words: ['dead-letters', 'list'],
  usage: 'dead-letters list [--workspace ID] [--limit N] [--json]',
  summary: 'List the commands that were dead-lettered: sequence, time, code, workspace, original subject, reason.',
  help: `Reads the namespace's dead-letter stream over NATS (NATS_URL, GANTRY_NAMESPACE, NATS_* credentials).

  --workspace ID  only the commands of workspace ID (the workspace their body names)
  --limit N       at most N, oldest first (default 1000)
  --json          one JSON object per dead letter, with its headers and body`,
  flags: { workspace: 'value', limit: 'value', json: 'switch' },
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
    const limit = intFlag(args, 'limit', 1, MAX_LIST) ?? 1_000;
    const workspaceId = workspaceFlag(args.values);
    const letters = await withDeadLetters(io, (ctx) => listDeadLetters(ctx, limit, workspaceId));
    if (args.switches.has('json')) for (const l of letters) io.out(JSON.stringify(asJson(l)));
    else if (letters.length === 0) io.err('no dead letters');
    else {
      const lines = table(letters, [
        { header: 'SEQ', cell: (l) => String(l.seq), right: true },
        { header: 'TIME', cell: (l) => formatTime(l.time) },
        { header: 'CODE', cell: (l) => l.code },
        { header: 'WORKSPACE', cell: (l) => l.workspaceId ?? '-' },
        { header: 'SUBJECT', cell: (l) => l.originalSubject },
        { header: 'DELIVERIES', cell: (l) => (l.deliveries === null ? '-' : String(l.deliveries)), right: true },
        { header: 'REASON', cell: (l) => l.reason },
      ]);
      for (const line of lines) io.out(line);
    }
    return 0;
  },
};

export const deadLettersReplay: Command = {
  words: ['dead-letters', 'replay'],
  usage: 'dead-letters replay SEQ [SEQ…] | --all [--workspace ID] [--token TOKEN] [--force] [--json]',
  summary: 'Publish dead-lettered commands again on their original subjects, then delete them.',
  help: `Each command is republished with its original body and headers; the dead letter is deleted
once JetStream has stored it. A command that would be refused again (its body is not a valid
command) is skipped unless --force.

A dead letter never keeps the Gantry-Token or Gantry-Grant of its command. A command that acts on a workspace
(anything but the submit of a job the API stored) needs one: pass --token, or set GANTRY_TOKEN,
to a token of that workspace with jobs:write; a token serves one workspace, so replay the dead
letters of several workspaces one workspace at a time (--all --workspace ID).

  --all           every dead letter
  --workspace ID  with --all: only the commands of workspace ID
  --token TOKEN   sent as Gantry-Token (default GANTRY_TOKEN)
  --force         replay even commands that would be refused again
  --json          one JSON object per replayed dead letter`,
  flags: { all: 'switch', workspace: 'value', token: 'value', force: 'switch', json: 'switch' },
  async run(args, io) {
    const all = args.switches.has('all');
    if (all === (args.positionals.length > 0)) throw new UsageError('give the sequences of dead letters to replay, or --all');
    const workspaceId = workspaceFlag(args.values);
    if (workspaceId !== undefined && !all) throw new UsageError('--workspace goes with --all');
    const seqs = args.positionals.map((s) => {
      const n = /^\d+$/.test(s) ? Number(s) : NaN;
      if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${JSON.stringify(s)} is not a dead-letter sequence`);
      return n;
    });
    const token = args.values.get('token') ?? io.env.GANTRY_TOKEN;
    return withDeadLetters(io, async (ctx) => {
      let code: number = EXIT.ok;
      const letters: DeadLetter[] = [];
      if (all) letters.push(...(await listDeadLetters(ctx, MAX_LIST, workspaceId)));
      // Each named once: a sequence named twice is replayed once.
      for (const seq of [...new Set(seqs)]) {
        const letter = await getDeadLetter(ctx, seq);
        if (letter) letters.push(letter);
        else {
          io.err(`error: no dead letter ${seq}`);
          code = EXIT.notFound;
        }
      }
      for (const letter of letters) {
        const invalid = stillInvalid(ctx, letter);
        if (invalid !== null && !args.switches.has('force')) {
          io.err(`skipped dead letter ${letter.seq}: it would be refused again (${invalid}); fix the sender, or --force`);
          if (code === EXIT.ok) code = EXIT.failed;
          continue;
        }
        const done = await replayDeadLetter(ctx, letter, token);
        if (args.switches.has('json')) io.out(JSON.stringify(done));
        else io.out(`replayed dead letter ${done.seq} on ${done.subject}${done.duplicate ? ' (already republished before)' : ''}`);
      }
      if (all && letters.length === 0) io.err('no dead letters');
      return code;
    });
  },
};
