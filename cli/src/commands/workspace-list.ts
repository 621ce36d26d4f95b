/** `gantry workspace list`: every workspace, oldest first. */
import { WorkspaceSchema } from '@gantry/store';
import { withDatabase } from '../db.js';
import type { Command } from './command.js';

export const workspaceList: Command = {
  words: ['workspace', 'list'],
  usage: 'workspace list [--json]',
  summary: 'List the workspaces.',
  flags: { json: 'switch' },
  async run(args, io) {
    const all = await withDatabase(io, (em) => em.find(WorkspaceSchema, {}, { orderBy: { createdAt: 'asc', name: 'asc' } }));
    for (const ws of all) {
      io.out(
        args.switches.has('json')
          ? JSON.stringify({ id: ws.id, name: ws.name, maxRunningJobs: ws.maxRunningJobs, createdAt: ws.createdAt })
          : `${ws.id}  ${ws.name}`,
      );
    }
    return 0;
  },
};
