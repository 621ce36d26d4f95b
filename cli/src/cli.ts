/**
 * The `gantry` command line: `gantry <command words> [arguments]`. This dispatcher picks the
 * command whose words start the arguments, parses the rest against the command's flags and runs
 * it. Exit codes: 0 done, 1 the command failed (e.g. no such workspace), 2 a usage or
 * configuration error.
 */
import { ConfigError } from '@gantry/runtime';
import { parseArgs, UsageError } from './args.js';
import { COMMANDS, type Command } from './commands/index.js';
import type { CliIo } from './io.js';

export { COMMANDS, type Command } from './commands/index.js';
export type { CliIo } from './io.js';

/** Exit codes. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

function help(io: CliIo): void {
  io.err('usage: gantry <command> [arguments]\n\ncommands:');
  for (const c of COMMANDS) io.err(`  ${c.usage}\n      ${c.summary}`);
  io.err('\nConfiguration comes from the environment (DATABASE_URL, …), as for the services.');
}

function find(argv: readonly string[]): Command | undefined {
  return COMMANDS.find((c) => c.words.every((w, i) => argv[i] === w));
}

/** Runs the CLI with `argv` (the arguments after the program name); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  if (argv.length === 0 || ['help', '--help', '-h'].includes(argv[0]!)) {
    help(io);
    return argv.length === 0 ? EXIT.usage : EXIT.ok;
  }
  const command = find(argv);
  if (!command) {
    io.err(`error: unknown command ${JSON.stringify(argv.slice(0, 2).join(' '))}; \`gantry help\` lists the commands`);
    return EXIT.usage;
  }
  try {
    return await command.run(parseArgs(argv.slice(command.words.length), command.flags), io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\nusage: gantry ${command.usage}`);
      return EXIT.usage;
    }
    if (err instanceof ConfigError) {
      io.err(`error: ${err.message}`);
      return EXIT.usage;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failed;
  }
}
