/**
 * The container image's entrypoint: `gantry <command> [arguments…]` runs one of Gantry's
 * processes (see `commands.ts`). Each command's module is a separate chunk of the bundle. The
 * command's own arguments reach it as `process.argv.slice(2)`, as if it were run directly.
 */
import { type Command, COMMANDS } from './commands.js';

/** Exit code of a wrong invocation, as the CLI's usage errors. */
const USAGE_EXIT_CODE = 2;

const command = process.argv[2];
if (command === undefined || !Object.hasOwn(COMMANDS, command)) {
  process.stderr.write(
    `usage: gantry <${Object.keys(COMMANDS).join('|')}> [arguments…]\n` +
      (command === undefined ? '' : `unknown command ${JSON.stringify(command)}\n`),
  );
  process.exitCode = USAGE_EXIT_CODE;
} else {
  process.argv.splice(2, 1);
  await COMMANDS[command as Command]();
}
