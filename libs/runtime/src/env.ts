/**
 * Schema builders for environment variables. Every builder takes the variable's description
 * (shown in the README's configuration table) and produces a zod schema that reads the raw
 * string and reports a sentence naming what is wrong, never the value itself (a value may be a
 * secret). An unset variable and an empty one are the same: both take the default.
 */
import { z } from 'zod';

interface Described {
  /** One sentence for the configuration table: meaning, unit. */
  readonly description: string;
}

const WHOLE_NUMBER = /^-?\d+$/;

function describe<T extends z.ZodType>(schema: T, description: string): T {
  return schema.describe(description);
}

/** An integer variable within `[min, max]`; optional when it has no default. */
export function envInt(opts: Described & { default: number; min?: number; max?: number }) {
  const min = opts.min ?? Number.MIN_SAFE_INTEGER;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  const schema = z
    .string()
    .regex(WHOLE_NUMBER, 'must be a whole number')
    .transform(Number)
    .pipe(
      z
        .number()
        .min(min, `must be at least ${min}`)
        .max(max, `must be at most ${max}`),
    );
  return describe(schema.default(opts.default), opts.description);
}

/** A string variable with a default, optionally constrained by a pattern. */
export function envString(
  opts: Described & { default: string; pattern?: RegExp; patternHint?: string },
) {
  const base = opts.pattern
    ? z.string().regex(opts.pattern, opts.patternHint ?? `must match ${opts.pattern.source}`)
    : z.string();
  return describe(base.default(opts.default), opts.description);
}

/** An optional string variable without a default: a user name, a secret, a file path. */
export function envOptional(opts: Described) {
  return describe(z.string().optional(), opts.description);
}

/** One of a fixed set of values. */
export function envEnum<const T extends readonly [string, ...string[]]>(
  values: T,
  opts: Described & { default: T[number] },
) {
  const schema = z.enum(values, { error: `must be one of ${values.join(', ')}` });
  return describe(schema.default(opts.default as never), opts.description);
}

function hasProtocol(value: string, protocols: readonly string[]): boolean {
  if (!URL.canParse(value)) return false;
  return protocols.includes(new URL(value).protocol.replace(/:$/, ''));
}

function protocolHint(protocols: readonly string[]): string {
  return protocols.map((p) => `${p}://`).join(' or ');
}

/** A URL whose scheme is one of `protocols`. */
export function envUrl(opts: Described & { default: string; protocols: readonly string[] }) {
  const schema = z
    .string()
    .refine((v) => hasProtocol(v, opts.protocols), {
      message: `must be a ${protocolHint(opts.protocols)} URL`,
    });
  return describe(schema.default(opts.default), opts.description);
}

/** A comma-separated list of URLs, each with a scheme from `protocols`; read as an array. */
export function envUrlList(opts: Described & { default: string; protocols: readonly string[] }) {
  const schema = z
    .string()
    .default(opts.default)
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s.length > 0),
    )
    .superRefine((urls, ctx) => {
      if (urls.length === 0) ctx.addIssue({ code: 'custom', message: 'must name at least one URL' });
      urls.forEach((url, i) => {
        if (!hasProtocol(url, opts.protocols)) {
          ctx.addIssue({
            code: 'custom',
            message: `entry ${i + 1} must be a ${protocolHint(opts.protocols)} URL`,
          });
        }
      });
    });
  return describe(schema, opts.description);
}
