/**
 * Command-line arguments: positionals and `--flag value` / `--flag=value` / `--switch`. Each
 * command declares its flags; an unknown flag or a missing value is a usage error.
 */

/** True for an id as Gantry writes them (a UUID), in either case. */
export function isUuid(text: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(text);
}

/** How a flag is written: with a value (`--scopes a,b`) or alone (`--json`). */
export type FlagKind = 'value' | 'switch';

/** Parsed arguments of one command. */
export interface ParsedArgs {
  readonly positionals: readonly string[];
  readonly values: ReadonlyMap<string, string>;
  readonly switches: ReadonlySet<string>;
}

/** A mistake in how the command was called; the CLI prints it with the command's usage. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

/** Parses `argv` against `flags` (flag name → kind). */
export function parseArgs(argv: readonly string[], flags: Readonly<Record<string, FlagKind>>): ParsedArgs {
  const positionals: string[] = [];
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    const kind = flags[name];
    if (kind === undefined) throw new UsageError(`unknown option --${name}`);
    if (kind === 'switch') {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`);
      switches.add(name);
      continue;
    }
    const value = eq >= 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || (eq < 0 && value.startsWith('--'))) throw new UsageError(`--${name} needs a value`);
    values.set(name, value);
  }
  return { positionals, values, switches };
}

const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of a duration like `90m`, `12h`, `30d`. */
export function parseDuration(text: string): number {
  const match = /^(\d+)([smhdw])$/.exec(text.trim());
  if (!match) throw new UsageError(`${JSON.stringify(text)} is not a duration: write a number and s, m, h, d or w (e.g. 30d)`);
  const ms = Number(match[1]) * UNITS[match[2]!]!;
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new UsageError(`${JSON.stringify(text)} is not a positive duration`);
  return ms;
}

/** Exactly the positionals `names` (e.g. `['ID', 'STEP']`); a usage error otherwise. */
export function expectPositionals(args: ParsedArgs, names: readonly string[]): string[] {
  if (args.positionals.length !== names.length) {
    const extra = args.positionals[names.length];
    throw new UsageError(extra !== undefined ? `unexpected argument ${JSON.stringify(extra)}` : `give ${names.join(' and ')}`);
  }
  return [...args.positionals];
}

/** The whole number of flag `name` within [min, max], or undefined when absent. */
export function intFlag(args: ParsedArgs, name: string, min: number, max: number): number | undefined {
  const text = args.values.get(name);
  if (text === undefined) return undefined;
  const n = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be a whole number from ${min} to ${max}`);
  return n;
}
