/** `gantry token list --workspace NAME`: a workspace's tokens (never their secrets). */
import { ApiTokenSchema, WorkspaceSchema } from '@gantry/store';
import { UsageError } from '../args.js';
import { withDatabase } from '../db.js';
import { EXIT } from '../exit.js';
import type { Command } from './command.js';

function state(t: { revokedAt?: Date | null; expiresAt?: Date | null }, now: number): string {
  if (t.revokedAt) return `revoked ${t.revokedAt.toISOString()}`;
  if (t.expiresAt && t.expiresAt.getTime() <= now) return `expired ${t.expiresAt.toISOString()}`;
  return t.expiresAt ? `active until ${t.expiresAt.toISOString()}` : 'active';
}

export const tokenList: Command = {
  words: ['token', 'list'],
  usage: 'token list --workspace NAME [--json]',
  summary: 'List a workspace’s tokens: id, prefix, name, scopes, state, last use.',
  flags: { workspace: 'value', json: 'switch' },
  async run(args, io) {
    const workspaceName = args.values.get('workspace');
    if (workspaceName === undefined) throw new UsageError('--workspace is required');
    const tokens = await withDatabase(io, async (em) => {
      const ws = await em.findOne(WorkspaceSchema, { name: workspaceName });
      return ws ? em.find(ApiTokenSchema, { workspaceId: ws.id }, { orderBy: { createdAt: 'asc', id: 'asc' } }) : null;
    });
    if (!tokens) {
      io.err(`error: no workspace named ${workspaceName}`);
      return EXIT.notFound;
    }
    const now = Date.now();
    for (const t of tokens) {
      const row = { id: t.id, prefix: t.prefix, name: t.name, scopes: t.scopes, state: state(t, now), lastUsedAt: t.lastUsedAt };
      io.out(
        args.switches.has('json')
          ? JSON.stringify(row)
          : `${t.id}  ${t.prefix}…  ${t.name}  ${t.scopes.join(',')}  ${row.state}  last used ${t.lastUsedAt?.toISOString() ?? 'never'}`,
      );
    }
    return 0;
  },
};
