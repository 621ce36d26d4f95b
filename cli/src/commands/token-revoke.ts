/**
 * `gantry token revoke ID|PREFIX`: revokes a token, named by its id or by the prefix `token
 * list` shows. The API refuses it from then on (within its token cache time, AUTH_CACHE_MS).
 * Revoking a revoked token changes nothing.
 */
import { ApiTokenSchema } from '@gantry/store';
import { isUuid, UsageError } from '../args.js';
import { withDatabase } from '../db.js';
import { EXIT } from '../exit.js';
import type { Command } from './command.js';

export const tokenRevoke: Command = {
  words: ['token', 'revoke'],
  usage: 'token revoke ID|PREFIX',
  summary: 'Revoke a token by its id or prefix.',
  flags: {},
  async run(args, io) {
    const [key, ...rest] = args.positionals;
    if (key === undefined || rest.length > 0) throw new UsageError('give exactly one token id or prefix');
    const outcome = await withDatabase(io, async (em) => {
      const found = await em.find(ApiTokenSchema, isUuid(key) ? { id: key.toLowerCase() } : { prefix: key.replace(/…$/, '') });
      if (found.length !== 1) return { found: found.length, ids: found.map((t) => t.id) };
      const token = found[0]!;
      const already = token.revokedAt;
      if (!already) {
        token.revokedAt = new Date();
        await em.flush();
      }
      return { found: 1, id: token.id, already };
    });
    if (outcome.found === 0) {
      io.err(`error: no token ${key}`);
      return EXIT.notFound;
    }
    if (outcome.found > 1) {
      io.err(`error: ${key} names ${outcome.found} tokens (${outcome.ids?.join(', ')}); revoke one by its id`);
      return EXIT.usage;
    }
    io.err(outcome.already ? `token ${outcome.id} was already revoked at ${outcome.already.toISOString()}` : `revoked token ${outcome.id}`);
    return 0;
  },
};
