/**
 * `npm run up`: a local Gantry cluster in one command. Uses PostgreSQL and NATS at the configured
 * URLs when they answer (starting an embedded PostgreSQL and a local nats-server when not), runs
 * the migrations, makes a `dev` workspace and token (printed), starts the API, the scheduler and
 * two workers, prints the URLs, submits a demo job and shows it finishing. Ctrl-C stops
 * everything it started. Running it again reuses what exists.
 *
 *   npm run up -- [--workers N] [--no-demo] [--verbose]
 */
import { names as namesOf } from '@gantry/contracts';
import { envInt, envString, loadConfig } from '@gantry/runtime';
import { createPool, ensureDatabase, migrate } from '@gantry/store';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ensureNats, ensurePostgres, type Started } from './dependencies.js';
import { runDemo } from './demo.js';
import { ensureDevAccess } from './dev-access.js';
import { relayTo, startServiceProcess } from './processes.js';

const UP_ENV = {
  PORT: envInt({ default: 8080, min: 1, max: 65_535, description: 'Port of the API.' }),
  GANTRY_STATE_DIR: envString({
    default: fileURLToPath(new URL('../../.gantry', import.meta.url)),
    description: 'Where `up` keeps its state: the embedded PostgreSQL and NATS data and the dev token.',
  }),
};

const print = (line: string) => process.stdout.write(`${line}\n`);

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const workers = Number(args[args.indexOf('--workers') + 1] ?? 2) || 2;
  const verbose = args.includes('--verbose');
  const config = loadConfig(UP_ENV);
  const started: Started[] = [];
  let stopping = false;
  const stopAll = async (code: number) => {
    if (stopping) return;
    stopping = true;
    print('stopping…');
    for (const s of started.reverse()) await s.stop().catch((err: unknown) => print(`could not stop ${s.name}: ${String(err)}`));
    print('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void stopAll(0));
  process.on('SIGTERM', () => void stopAll(0));

  try {
    const track = (s: Started) => void started.push(s);
    const pg = await ensurePostgres(config.databaseUrl, config.gantryStateDir, print, track);
    await ensureNats(config.natsUrl.join(','), config.gantryStateDir, print, track);

    if (await ensureDatabase(pg.url)) print('created the database');
    const { applied } = await migrate(pg.url);
    print(applied.length > 0 ? `applied migrations: ${applied.join(', ')}` : 'the schema is up to date');
    const pool = createPool(pg.url, { max: 2, applicationName: 'gantry-up' });
    const dev = await ensureDevAccess(pool, config.gantryStateDir).finally(() => pool.end());

    const env = { DATABASE_URL: pg.url, NATS_URL: config.natsUrl.join(','), GANTRY_NAMESPACE: config.gantryNamespace, LOG_LEVEL: verbose ? 'info' : 'warn' };
    // The API signs the commands it publishes for its callers with a key only it and the
    // scheduler know (a new one each run, unless the environment gives one): no bearer token rests
    // in the commands stream.
    const signing = { COMMAND_SIGNING_KEY: process.env.COMMAND_SIGNING_KEY || randomBytes(32).toString('hex') };
    const relay = relayTo(print, verbose);
    const scheduler = startServiceProcess('scheduler', 'scheduler', { ...env, ...signing, LOG_LEVEL: 'info', METRICS_PORT: '0' }, relay);
    started.push(scheduler);
    await scheduler.waitForLog((l) => l.msg === 'service started');
    for (let i = 1; i <= workers; i++) {
      const worker = startServiceProcess(`worker-${i}`, 'worker', { ...env, LOG_LEVEL: 'info', METRICS_PORT: '0', WORKER_ID: `dev-worker-${i}` }, relay);
      started.push(worker);
      await worker.waitForLog((l) => l.msg === 'service started');
    }
    const api = startServiceProcess('api', 'api', { ...env, ...signing, LOG_LEVEL: 'info', PORT: String(config.port), HTTP_HOST: '127.0.0.1' }, relay);
    started.push(api);
    await api.waitForLog((l) => l.msg === 'service started');

    const apiUrl = `http://127.0.0.1:${config.port}`;
    print('');
    print(`Gantry is up (namespace ${namesOf(config.gantryNamespace).namespace}, ${workers} workers)`);
    print(`  API            ${apiUrl}`);
    print(`  console        ${apiUrl}/ui   (sign in with the token below)`);
    print(`  API docs       ${apiUrl}/docs   (OpenAPI: ${apiUrl}/openapi.json)`);
    print(`  metrics        ${apiUrl}/metrics`);
    print(`  workspace      dev (${dev.workspaceId})`);
    print(`  token          ${dev.token}${dev.created ? '   (new)' : '   (reused)'}`);
    print(`  try            curl -s ${apiUrl}/runner-jobs -H "Authorization: Bearer ${dev.token}"`);
    print('');
    if (!args.includes('--no-demo')) await runDemo(apiUrl, dev.token, print);
    print('running; Ctrl-C stops everything');
  } catch (err) {
    print(`error: ${err instanceof Error ? err.message : String(err)}`);
    await stopAll(1);
  }
}

await main();
