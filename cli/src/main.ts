/** The `gantry` executable's entry: runs the CLI on the process's arguments and environment. */
import { runCli } from './cli.js';
import { EXIT } from './exit.js';
import { processIo } from './io.js';

// `gantry logs ID | head`: the reader stopped early. Quietly, with the code of a writer a SIGPIPE
// ended (128 + 13), as `yes | head` does, unless the command had already finished: a watch whose
// reader went away did not see its job complete, and `gantry submit --watch | tee log && deploy`
// must not go on (with `set -o pipefail`).
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(process.exitCode ?? EXIT.brokenPipe);
});

process.exitCode = await runCli(process.argv.slice(2), processIo());
