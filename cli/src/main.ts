/** The `gantry` executable's entry: runs the CLI on the process's arguments and environment. */
import { runCli } from './cli.js';
import { processIo } from './io.js';

// `gantry logs ID | head`: a reader that stops early is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await runCli(process.argv.slice(2), processIo());
