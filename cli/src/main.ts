/** The `gantry` executable's entry: runs the CLI on the process's arguments and environment. */
import { runCli } from './cli.js';
import { processIo } from './io.js';

process.exitCode = await runCli(process.argv.slice(2), processIo());
