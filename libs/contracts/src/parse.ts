/**
 * Parsing at the edges: untrusted input becomes a typed value or a {@link GantryError} whose
 * code and field issues say exactly what is wrong. Every edge (HTTP bodies, NATS commands)
 * goes through these functions so that both answer bad input the same way.
 */
import type { z } from 'zod';
import { COMMAND_SCHEMAS, COMMAND_VERSIONS, type CommandOf } from './commands.js';
import { type FieldIssue, GantryError } from './errors.js';
import { nestsDeeperThan } from './json.js';
import { Limits } from './limits.js';
import type { CommandKind } from './names.js';

/** Turns a zod path into the dotted form problem documents carry (`steps.2.spec.argv`). */
export function formatPath(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join('.');
}

function toFieldIssues(error: z.ZodError): FieldIssue[] {
  return error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: 'unknown field' }))
      : [{ path: formatPath(issue.path), message: issue.message }],
  );
}

/**
 * Validates `input` against `schema`; throws VALIDATION_FAILED or LIMIT_EXCEEDED with every
 * issue. Input nested deeper than {@link Limits.maxJsonDepth} is refused first, before a
 * schema's recursive check of free JSON (a payload, a step spec) runs out of stack.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what = 'input'): z.infer<S> {
  if (nestsDeeperThan(input, Limits.maxJsonDepth)) {
    throw new GantryError('LIMIT_EXCEEDED', `invalid ${what}: it nests objects and arrays more than ${Limits.maxJsonDepth} levels deep`);
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issues = toFieldIssues(result.error);
  const overLimit = result.error.issues.some((i) => i.code === 'too_big');
  const first = issues[0];
  const where = first && first.path ? `${first.path}: ` : '';
  throw new GantryError(
    overLimit ? 'LIMIT_EXCEEDED' : 'VALIDATION_FAILED',
    `invalid ${what}: ${where}${first?.message ?? 'invalid'}${issues.length > 1 ? ` (and ${issues.length - 1} more)` : ''}`,
    { issues },
  );
}

const decoder = new TextDecoder('utf-8', { fatal: true });

/** A command body that passed the cheap checks of {@link readCommand}; its schema is not checked yet. */
export interface RawCommand<K extends CommandKind> {
  readonly kind: K;
  /** The parsed JSON object, of the right version and kind. */
  readonly value: Readonly<Record<string, unknown>>;
}

/**
 * The cheap half of {@link parseCommand}: size, UTF-8 and JSON, the schema version, the kind.
 * A consumer can order and group what it reads by `value.workspaceId` before paying for the
 * schema check ({@link validateCommand}). Throws a GantryError naming the first failure.
 */
export function readCommand<K extends CommandKind>(kind: K, body: Uint8Array): RawCommand<K> {
  if (body.byteLength > Limits.maxCommandBytes) {
    throw new GantryError(
      'PAYLOAD_TOO_LARGE',
      `command is ${body.byteLength} bytes; the limit is ${Limits.maxCommandBytes} bytes`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(body));
  } catch (cause) {
    throw new GantryError('MALFORMED_JSON', 'command body is not valid UTF-8 JSON', { cause });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new GantryError('VALIDATION_FAILED', 'command body must be a JSON object');
  }
  const version = (value as { v?: unknown }).v;
  if (!(COMMAND_VERSIONS as readonly unknown[]).includes(version)) {
    throw new GantryError(
      'UNSUPPORTED_VERSION',
      `command version ${JSON.stringify(version ?? null)} is not supported; supported: ${COMMAND_VERSIONS.join(', ')}`,
    );
  }
  const declared = (value as { kind?: unknown }).kind;
  if (declared !== kind) {
    throw new GantryError(
      'VALIDATION_FAILED',
      `command kind ${JSON.stringify(declared ?? null)} does not match its subject (${kind})`,
      { issues: [{ path: 'kind', message: `expected "${kind}"` }] },
    );
  }
  return { kind, value: value as Record<string, unknown> };
}

/** The schema half of {@link parseCommand}: the typed command, or a GantryError with every issue. */
export function validateCommand<K extends CommandKind>(raw: RawCommand<K>): CommandOf<K> {
  return parseWith(COMMAND_SCHEMAS[raw.kind], raw.value, `${raw.kind} command`) as CommandOf<K>;
}

/**
 * Parses a command body received on the subject of `kind`. Checks, in order: size, UTF-8 and
 * JSON, the schema version, then the schema. Throws a GantryError naming the first failure.
 */
export function parseCommand<K extends CommandKind>(kind: K, body: Uint8Array): CommandOf<K> {
  return validateCommand(readCommand(kind, body));
}
