/** The shape of one CLI command; each lives in its own file and is listed in `index.ts`. */
import type { FlagKind, ParsedArgs } from '../args.js';
import type { CliIo } from '../io.js';

/** One `gantry` command. */
export interface Command {
  /** The words that select it, e.g. `['token', 'create']`. */
  readonly words: readonly string[];
  /** One line: how to call it. */
  readonly usage: string;
  /** One sentence: what it does. */
  readonly summary: string;
  /** What `--help` adds under the summary: the flags, what it prints, its exit codes. */
  readonly help?: string;
  readonly flags: Readonly<Record<string, FlagKind>>;
  /** Runs the command; resolves with the exit code. Throws UsageError for a bad call, CliError for a failure. */
  run(args: ParsedArgs, io: CliIo): Promise<number>;
}
