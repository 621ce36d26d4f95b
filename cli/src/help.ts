/**
 * The CLI's help texts: the top-level list of commands with the environment and exit codes,
 * one command's help (`gantry <command> --help`), and a group's commands (`gantry token`).
 */
import type { Command } from './commands/command.js';

const ENVIRONMENT = [
  'environment:',
  '  GANTRY_URL        the API (default http://127.0.0.1:8080); --url overrides',
  '  GANTRY_TOKEN      the API token of your workspace; --token overrides',
  '  DATABASE_URL      PostgreSQL, for workspace, token and migrate',
  '  NATS_URL, GANTRY_NAMESPACE (and the NATS_* credentials)   NATS, for dead-letters',
];

const EXIT_CODES = [
  'exit codes:',
  '  0 done (watch: the job COMPLETED)   1 failed (the job FAILED or was CANCELLED, a refused change)',
  '  2 usage, configuration or an invalid job file   3 not found   4 authentication refused',
  '  5 the API, NATS or PostgreSQL is unreachable or unavailable',
];

/** The top-level help: every command, the environment, the exit codes. */
export function topLevelHelp(commands: readonly Command[]): string[] {
  return [
    'usage: gantry <command> [arguments]      gantry <command> --help for one command',
    '',
    'commands:',
    ...commands.flatMap((c) => [`  ${c.usage}`, `      ${c.summary}`]),
    '',
    ...ENVIRONMENT,
    '',
    ...EXIT_CODES,
  ];
}

/** One command's help. */
export function commandHelp(command: Command): string[] {
  return [`usage: gantry ${command.usage}`, '', command.summary, ...(command.help ? ['', command.help.trimEnd()] : [])];
}

/** The commands that start with `word`, e.g. every `token …` command. */
export function groupHelp(word: string, commands: readonly Command[]): string[] {
  const members = commands.filter((c) => c.words[0] === word);
  return [`usage: gantry ${word} <${members.map((c) => c.words[1]).join('|')}> [arguments]`, '', ...members.flatMap((c) => [`  ${c.usage}`, `      ${c.summary}`])];
}
