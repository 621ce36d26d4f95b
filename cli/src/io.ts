/**
 * What a command talks to: its output streams and the environment. `main.ts` passes the real
 * process; tests pass buffers and a test database's URL.
 */

/** A command's input and output. */
export interface CliIo {
  /** Results (a token, JSON): what a script captures. */
  out(line: string): void;
  /** Messages for the person at the terminal. */
  err(line: string): void;
  /** The environment configuration is read from. */
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The real process's streams and environment. */
export function processIo(): CliIo {
  return {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    env: process.env,
  };
}
