/** Runs `promtool` (Debian package `prometheus`; scripts/ensure-tools.sh installs it). */
import { spawnSync } from 'node:child_process';

/** Runs `promtool args…` in `cwd`; resolves with its exit code and combined output. */
export function promtool(args: readonly string[], cwd?: string): { code: number; output: string } {
  const r = spawnSync('promtool', args, { cwd, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool could not run (${r.error.message}); run scripts/ensure-tools.sh`);
  return { code: r.status ?? 1, output: `${r.stdout}${r.stderr}` };
}
