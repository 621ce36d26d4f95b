/**
 * The commands of the image's entrypoint (`gantry <command>`), each loading the module it runs
 * only when chosen: the same modules `npm run start:*`, `npm run migrate` and `npm run gantry`
 * run.
 */
export const COMMANDS = {
  /** The HTTP API (PORT). */
  api: () => import('../../services/api/src/main.js'),
  /** The scheduler (METRICS_PORT). */
  scheduler: () => import('../../services/scheduler/src/main.js'),
  /** A worker (METRICS_PORT). */
  worker: () => import('../../services/worker/src/main.js'),
  /** Applies the committed migrations, then exits (a Job before each rollout). */
  migrate: () => import('../../libs/store/src/cli/migrate.js'),
  /** The `gantry` CLI: workspaces and tokens (`cli workspace create acme`). */
  cli: () => import('../../cli/src/main.js'),
} as const satisfies Readonly<Record<string, () => Promise<unknown>>>;

/** A command name. */
export type Command = keyof typeof COMMANDS;
