/** `gantry workspace create NAME [--max-running-jobs N]`: a new workspace. */
import { isUniqueViolation, WorkspaceSchema } from '@gantry/store';
import { UsageError } from '../args.js';
import { withDatabase } from '../db.js';
import type { Command } from './command.js';

/** What a workspace name may be (the database checks the same). */
export const WORKSPACE_NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;

function uniqueViolation(err: unknown): boolean {
  return isUniqueViolation(err) || isUniqueViolation((err as { cause?: unknown }).cause);
}

/** The largest limit the column (`integer`) holds. */
const INT4_MAX = 2_147_483_647;

export const workspaceCreate: Command = {
  words: ['workspace', 'create'],
  usage: 'workspace create NAME [--max-running-jobs N] [--json]',
  summary: 'Create a workspace (lower-case letters, digits, - and _; at most 63 characters).',
  flags: { 'max-running-jobs': 'value', json: 'switch' },
  async run(args, io) {
    const [name, ...rest] = args.positionals;
    if (name === undefined || rest.length > 0) throw new UsageError('give exactly one workspace name');
    if (!WORKSPACE_NAME.test(name)) {
      throw new UsageError(`${JSON.stringify(name)} is not a workspace name: lower-case letters, digits, - and _, starting with a letter or digit, at most 63 characters`);
    }
    const limitText = args.values.get('max-running-jobs');
    const maxRunningJobs = limitText === undefined ? null : Number(limitText);
    if (maxRunningJobs !== null && !(Number.isSafeInteger(maxRunningJobs) && maxRunningJobs > 0 && maxRunningJobs <= INT4_MAX)) {
      throw new UsageError(`--max-running-jobs must be a whole number from 1 to ${INT4_MAX}`);
    }
    try {
      const workspace = await withDatabase(io, async (em) => {
        const ws = em.create(WorkspaceSchema, { name, maxRunningJobs, metadata: {} });
        await em.flush();
        return ws;
      });
      if (args.switches.has('json')) io.out(JSON.stringify({ id: workspace.id, name: workspace.name }));
      else io.out(workspace.id);
      io.err(`created workspace ${name} (${workspace.id})`);
      return 0;
    } catch (err) {
      if (!uniqueViolation(err)) throw err;
      io.err(`error: workspace ${name} already exists`);
      return 1;
    }
  },
};
