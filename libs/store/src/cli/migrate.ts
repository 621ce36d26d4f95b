/**
 * `npm run migrate`: creates the database if it is missing, then applies the committed
 * migrations. Run before a rollout (a Kubernetes Job), never implicitly by a serving process.
 */
import { createLogger, ConfigError, loadConfig, redactUrl } from '@gantry/runtime';
import pkg from '../../package.json' with { type: 'json' };
import { ensureDatabase } from '../ensure-database.js';
import { migrate } from '../migrate.js';

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ service: 'migrate', version: pkg.version, level: config.logLevel });
  const database = redactUrl(config.databaseUrl);
  if (await ensureDatabase(config.databaseUrl)) logger.info({ database }, 'created the database');
  const { applied } = await migrate(config.databaseUrl);
  logger.info({ database, applied }, applied.length > 0 ? `applied ${applied.length} migration(s)` : 'the schema is up to date');
}

main().catch((err: unknown) => {
  // Before a logger exists (bad configuration) or after it failed: plain text on stderr.
  process.stderr.write(`${err instanceof ConfigError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
