/**
 * `gantry migrate`: creates the database in DATABASE_URL if it is missing and applies the
 * committed migrations — the same code as `npm run migrate` (idempotent, and safe when several
 * run at once). Prints the migrations it applied.
 */
import { loadConfig, redactUrl } from '@gantry/runtime';
import { ensureDatabase, isConnectionError, migrate as applyMigrations } from '@gantry/store';
import { UsageError } from '../args.js';
import { CliError, EXIT } from '../exit.js';
import type { Command } from './command.js';

export const migrate: Command = {
  words: ['migrate'],
  usage: 'migrate [--json]',
  summary: 'Create the database in DATABASE_URL if missing and apply the committed migrations.',
  help: '  --json   {"database": …, "created": true|false, "applied": [names]}',
  flags: { json: 'switch' },
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
    const { databaseUrl } = loadConfig({}, io.env);
    const database = redactUrl(databaseUrl);
    try {
      const created = await ensureDatabase(databaseUrl);
      const { applied } = await applyMigrations(databaseUrl);
      if (args.switches.has('json')) io.out(JSON.stringify({ database, created, applied }));
      else for (const name of applied) io.out(name);
      io.err(`${created ? 'created the database; ' : ''}${applied.length > 0 ? `applied ${applied.length} migration(s) to ${database}` : `${database} is up to date`}`);
      return 0;
    } catch (err) {
      if (isConnectionError(err) || isConnectionError((err as { cause?: unknown }).cause)) {
        throw new CliError(`cannot reach PostgreSQL at ${database}: ${(err as Error).message}`, EXIT.unavailable, { cause: err });
      }
      throw err;
    }
  },
};
