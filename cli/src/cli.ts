/**
 * The `gantry` command line: `gantry <command words> [arguments]`. This dispatcher picks the
 * command whose words start the arguments, answers `--help`, parses the rest against the
 * command's flags and runs it; a thrown error becomes one `error:` line on stderr and an exit
 * code (see `exit.ts`: 0 ok, 1 failed, 2 usage, 3 not found, 4 auth refused, 5 unavailable).
 */
import { ConfigError } from '@gantry/runtime';
import { parseArgs, UsageError } from './args.js';
import { COMMANDS, type Command } from './commands/index.js';
import { CliError, EXIT } from './exit.js';
import { commandHelp, groupHelp, topLevelHelp } from './help.js';
import type { CliIo } from './io.js';

export { COMMANDS, type Command } from './commands/index.js';
export type { CliIo } from './io.js';
export { CliError, EXIT, type ExitCode } from './exit.js';

const HELP = ['help', '--help', '-h'];

function find(argv: readonly string[]): Command | undefined {
  return COMMANDS.find((c) => c.words.every((w, i) => argv[i] === w));
}

function print(lines: readonly string[], to: (line: string) => void): void {
  for (const line of lines) to(line);
}

/** Answers `gantry`, `gantry help [command]` and `gantry --help`; null when argv asks for none. */
function topLevel(argv: readonly string[], io: CliIo): number | null {
  if (argv.length === 0) {
    print(topLevelHelp(COMMANDS), io.err);
    return EXIT.usage;
  }
  if (!HELP.includes(argv[0]!)) return null;
  const command = argv.length > 1 ? find(argv.slice(1)) : undefined;
  print(command ? commandHelp(command) : topLevelHelp(COMMANDS), io.out);
  return EXIT.ok;
}

/** Runs the CLI with `argv` (the arguments after the program name); resolves with the exit code. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const answered = topLevel(argv, io);
  if (answered !== null) return answered;
  const command = find(argv);
  if (!command) {
    if (COMMANDS.some((c) => c.words.length > 1 && c.words[0] === argv[0])) {
      const helpAsked = argv.length === 2 && HELP.includes(argv[1]!);
      if (!helpAsked && argv.length > 1) io.err(`error: unknown command ${JSON.stringify(argv.slice(0, 2).join(' '))}`);
      print(groupHelp(argv[0]!, COMMANDS), helpAsked ? io.out : io.err);
      return helpAsked ? EXIT.ok : EXIT.usage;
    }
    io.err(`error: unknown command ${JSON.stringify(argv[0])}; \`gantry help\` lists the commands`);
    return EXIT.usage;
  }
  const rest = argv.slice(command.words.length);
  const dashDash = rest.indexOf('--');
  if (rest.slice(0, dashDash < 0 ? undefined : dashDash).some((a) => a === '--help' || a === '-h')) {
    print(commandHelp(command), io.out);
    return EXIT.ok;
  }
  try {
    return await command.run(parseArgs(rest, command.flags), io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`error: ${err.message}\nusage: gantry ${command.usage}`);
      return EXIT.usage;
    }
    if (err instanceof ConfigError) {
      io.err(`error: ${err.message}`);
      return EXIT.usage;
    }
    if (err instanceof CliError) {
      io.err(`error: ${err.message}`);
      return err.exitCode;
    }
    io.err(`error: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.failed;
  }
}
