/**
 * What a command talks to: its output streams and the environment. `main.ts` passes the real
 * process; tests pass buffers and a test database's URL.
 */

/** A command's input and output. */
export interface CliIo {
  /** Results (a token, JSON, tables): what a script captures. */
  out(line: string): void;
  /** Messages for the person at the terminal. */
  err(line: string): void;
  /** The environment configuration is read from. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Whether `out` is a terminal: `watch` then redraws in place instead of printing lines. */
  readonly isTTY?: boolean;
}

/** The real process's streams and environment. */
export function processIo(): CliIo {
  return {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    env: process.env,
    isTTY: process.stdout.isTTY === true,
  };
}
