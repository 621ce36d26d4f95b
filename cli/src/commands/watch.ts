/**
 * `gantry watch ID`: follows a job live over its event stream (Server-Sent Events, resumed
 * with Last-Event-ID if the connection drops) until it ends. On a terminal it redraws the steps
 * with a progress bar each and scrolls the commands' output above them; piped, it prints one
 * line per event and per output line. Exits 0 when the job COMPLETED, 1 when it FAILED or was
 * CANCELLED.
 */
import { expectPositionals } from '../args.js';
import { API_FLAGS, apiClient } from '../api/client.js';
import { followJob } from '../follow.js';
import type { Command } from './command.js';

export const watch: Command = {
  words: ['watch'],
  usage: 'watch ID [--json] [--plain]',
  summary: 'Follow a job live until it ends; exit 0 if it COMPLETED, 1 if it FAILED or was CANCELLED.',
  help: `Shows every event from the job's start, then new ones as they happen. A job waiting on a
manual gate prints the \`gantry approve\` / \`gantry reject\` command that decides it.

  --plain   one line per event even on a terminal (the default when stdout is not one)
  --json    the events as JSON lines`,
  flags: { ...API_FLAGS, json: 'switch', plain: 'switch' },
  async run(args, io) {
    const [id] = expectPositionals(args, ['ID']);
    const client = apiClient(args, io);
    return followJob(client, id!, io, {
      mode: args.switches.has('json') ? 'json' : 'view',
      tty: io.isTTY === true && !args.switches.has('plain'),
    });
  },
};
