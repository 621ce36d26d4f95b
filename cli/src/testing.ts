/** Test support: a CliIo that records what a command printed. */
import type { CliIo } from './io.js';

export interface RecordedIo extends CliIo {
  readonly stdout: string[];
  readonly stderr: string[];
}

/** An io with `env` that keeps every line printed. */
export function recordingIo(env: Record<string, string | undefined>): RecordedIo {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (l) => stdout.push(l), err: (l) => stderr.push(l), env };
}
