/**
 * Exit codes of every `gantry` command, and the error that carries one. A command either
 * resolves with a code or throws a {@link CliError}; `cli.ts` prints the error's message as one
 * `error:` line (or several, for a job file's issues) and exits with its code.
 *
 * | code | meaning |
 * |---|---|
 * | 0 | done; for `watch` and `submit --watch`, the job COMPLETED |
 * | 1 | the command failed: the job ended FAILED or CANCELLED, the API refused the change (409), anything unexpected |
 * | 2 | usage or configuration: a bad argument or flag, a bad environment, an invalid job file |
 * | 3 | not found: no such job, step, workspace, token or dead letter |
 * | 4 | authentication refused: the token is missing, unknown, revoked, expired or lacks the scope (401, 403) |
 * | 5 | unavailable: the API, NATS or PostgreSQL cannot be reached, is overloaded (429) or failed (5xx) |
 * | 130 | interrupted: Ctrl-C stopped `watch` or `submit --watch` |
 * | 141 | the reader of stdout went away before the command finished (a broken pipe) |
 */

/** The exit codes (see the module doc). */
export const EXIT = { ok: 0, failed: 1, usage: 2, notFound: 3, auth: 4, unavailable: 5, interrupted: 130, brokenPipe: 141 } as const;

/** One of {@link EXIT}'s values. */
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** An error a command reports to the user with a specific exit code. */
export class CliError extends Error {
  override readonly name: string = 'CliError';
  readonly exitCode: ExitCode;

  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.exitCode = exitCode;
  }
}

/** The exit code of an HTTP error status. */
export function exitCodeOfStatus(status: number): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (status === 400 || status === 413 || status === 415) return EXIT.usage;
  if (status === 429 || status >= 500) return EXIT.unavailable;
  return EXIT.failed;
}
