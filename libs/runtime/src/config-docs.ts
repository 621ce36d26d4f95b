/**
 * The machine-readable list of configuration variables, read off the same schemas that parse
 * them, so the README's configuration table is generated from (or checked against) the code.
 */
import { BASE_ENV, type EnvShape } from './config.js';

/** One environment variable as documented. */
export interface ConfigVariable {
  readonly name: string;
  /** The default as it would be written in the environment; undefined when there is none. */
  readonly default: string | undefined;
  readonly description: string;
}

interface DefLike {
  readonly type: string;
  readonly defaultValue?: unknown;
  readonly in?: { readonly def: DefLike };
  readonly innerType?: { readonly def: DefLike };
}

function defaultOf(def: DefLike): unknown {
  switch (def.type) {
    case 'default':
    case 'prefault':
      return def.defaultValue;
    case 'pipe':
      return def.in ? defaultOf(def.in.def) : undefined;
    default:
      return def.innerType ? defaultOf(def.innerType.def) : undefined;
  }
}

function formatDefault(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.join(',');
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/**
 * The variables of {@link BASE_ENV} plus `shape` (a service's own), in declaration order, with
 * their defaults and descriptions.
 */
export function describeConfig(shape: EnvShape = {}): readonly ConfigVariable[] {
  const full: EnvShape = { ...BASE_ENV, ...shape };
  return Object.entries(full).map(([name, schema]) => ({
    name,
    default: formatDefault(defaultOf(schema.def as unknown as DefLike)),
    description: schema.description ?? '',
  }));
}

function cell(text: string): string {
  return text.replaceAll('|', '\\|');
}

/** A Markdown table (`Variable | Default | Description`) of `variables`, for the README. */
export function configTable(variables: readonly ConfigVariable[]): string {
  const rows = variables.map(
    (v) => `| \`${v.name}\` | ${v.default === undefined ? '—' : `\`${cell(v.default)}\``} | ${cell(v.description)} |`,
  );
  return ['| Variable | Default | Description |', '|---|---|---|', ...rows].join('\n');
}
