/**
 * Contract schemas as JSON Schema (draft 2020-12): zod's `z.toJSONSchema`, then a few
 * deterministic rewrites so that the files read well and check what Gantry checks:
 *
 * - the root is the schema itself, not a `$ref` to one of its own `$defs`;
 * - the recursive JSON value that zod leaves unnamed (`__schema0`) is named `JsonValue`; any
 *   other unnamed definition is an error (give that schema an id with `.meta({ id })`);
 * - wherever `StepDefinition` appears, `if`/`then` rules tie its `spec` to the built-in spec
 *   schema of its `type` (contracts checks this in code, which zod cannot export);
 * - `$defs` are sorted by name; the root starts with `$schema`, `title`, `description`.
 *
 * Rules that live in code are not in the schemas (exactly one of argv/script, unique step
 * names, serialised-size limits, no `..` in paths); Gantry still refuses input that breaks them.
 */
import { z } from 'zod';
import { BUILTIN_STEP_SPECS } from '../src/steps.js';

export type JsonSchema = { [key: string]: unknown };
type Io = 'input' | 'output';

export const JSON_SCHEMA_DRAFT = 'https://json-schema.org/draft/2020-12/schema';
const DEFS_PREFIX = '#/$defs/';
const ANONYMOUS_DEF = /^__schema\d+$/;
const JSON_VALUE = 'JsonValue';
const STEP_DEFINITION = 'StepDefinition';

export interface SchemaDocOptions {
  /** `input` for what Gantry receives (defaulted fields optional), `output` for what it sends. */
  readonly io: Io;
  readonly title: string;
  /** Replaces the schema's own description when given. */
  readonly description?: string;
}

/** The JSON Schema document of `schema`, ready to serialise. */
export function jsonSchemaOf(schema: z.ZodType, options: SchemaDocOptions): JsonSchema {
  let doc = nameJsonValue(convert(schema, options.io));
  doc = inlineRoot(doc);
  doc = withBuiltinStepSpecs(doc);
  return finish(doc, options);
}

/** Local `$ref`s (`#/$defs/…`) of `doc` that name no definition. */
export function unresolvedRefs(doc: JsonSchema): string[] {
  const defs = (doc.$defs ?? {}) as JsonSchema;
  const missing = new Set<string>();
  mapRefs(doc, (ref) => {
    if (ref.startsWith(DEFS_PREFIX) && !Object.hasOwn(defs, ref.slice(DEFS_PREFIX.length))) missing.add(ref);
    else if (ref.startsWith('#') && ref !== '#' && !ref.startsWith(DEFS_PREFIX)) missing.add(ref);
    return ref;
  });
  return [...missing].sort();
}

function convert(schema: z.ZodType, io: Io): JsonSchema {
  return z.toJSONSchema(schema, {
    target: 'draft-2020-12',
    io,
    unrepresentable: 'throw',
    cycles: 'ref',
    reused: 'inline',
  }) as JsonSchema;
}

/** A copy of `node` with every `$ref` value passed through `rewrite`. */
function mapRefs<T>(node: T, rewrite: (ref: string) => string): T {
  if (Array.isArray(node)) return node.map((item: unknown) => mapRefs(item, rewrite)) as T;
  if (node === null || typeof node !== 'object') return node;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] = key === '$ref' && typeof value === 'string' ? rewrite(value) : mapRefs(value, rewrite);
  }
  return out as T;
}

/** zod's rendering of `z.json()`, with its recursion written as `#`. */
const JSON_VALUE_SHAPE = (() => {
  const { $schema: _drop, ...shape } = convert(z.json(), 'output');
  return JSON.stringify(shape);
})();

function isJsonValue(name: string, def: unknown): boolean {
  const self = `${DEFS_PREFIX}${name}`;
  return JSON.stringify(mapRefs(def, (ref) => (ref === self ? '#' : ref))) === JSON_VALUE_SHAPE;
}

function nameJsonValue(doc: JsonSchema): JsonSchema {
  const defs = (doc.$defs ?? {}) as JsonSchema;
  const renamed = new Set<string>();
  for (const [name, def] of Object.entries(defs)) {
    if (!ANONYMOUS_DEF.test(name)) continue;
    if (!isJsonValue(name, def)) {
      throw new Error(`zod extracted an unnamed schema as ${name}; give it an id with .meta({ id })`);
    }
    renamed.add(name);
  }
  if (renamed.size === 0) return doc;
  if (Object.hasOwn(defs, JSON_VALUE) && !isJsonValue(JSON_VALUE, defs[JSON_VALUE])) {
    throw new Error(`a schema with id ${JSON_VALUE} is not the JSON value schema`);
  }
  const target = `${DEFS_PREFIX}${JSON_VALUE}`;
  const rewritten = mapRefs(doc, (ref) =>
    ref.startsWith(DEFS_PREFIX) && renamed.has(ref.slice(DEFS_PREFIX.length)) ? target : ref,
  );
  const keptDefs = Object.fromEntries(
    Object.entries(rewritten.$defs as JsonSchema).filter(([name]) => !renamed.has(name)),
  );
  const jsonValue = mapRefs(JSON.parse(JSON_VALUE_SHAPE) as JsonSchema, (ref) => (ref === '#' ? target : ref));
  return { ...rewritten, $defs: { ...keptDefs, [JSON_VALUE]: jsonValue } };
}

/** `{ $ref: '#/$defs/X', $defs: { X, … } }` becomes `{ …X, $defs: { … } }`. */
function inlineRoot(doc: JsonSchema): JsonSchema {
  const { $schema: _drop, $ref, $defs, ...rest } = doc;
  if (typeof $ref !== 'string' || !$ref.startsWith(DEFS_PREFIX) || Object.keys(rest).length > 0) return doc;
  const id = $ref.slice(DEFS_PREFIX.length);
  const defs = { ...($defs as JsonSchema) };
  const root = defs[id] as JsonSchema;
  delete defs[id];
  return mapRefs({ ...root, $defs: defs }, (ref) => (ref === $ref ? '#' : ref));
}

function mergeDefs(into: JsonSchema, from: JsonSchema): void {
  for (const [name, def] of Object.entries(from)) {
    if (Object.hasOwn(into, name) && JSON.stringify(into[name]) !== JSON.stringify(def)) {
      throw new Error(`two different schemas share the id ${name}`);
    }
    into[name] = def;
  }
}

function withBuiltinStepSpecs(doc: JsonSchema): JsonSchema {
  const defs = { ...((doc.$defs ?? {}) as JsonSchema) };
  const step = defs[STEP_DEFINITION] as JsonSchema | undefined;
  if (step === undefined) return doc;
  const rules = Object.entries(BUILTIN_STEP_SPECS).map(([type, spec]) => {
    const specDoc = nameJsonValue(convert(spec, 'input'));
    if (typeof specDoc.$ref !== 'string') throw new Error(`the ${type} spec schema needs an id (.meta({ id }))`);
    mergeDefs(defs, (specDoc.$defs ?? {}) as JsonSchema);
    const emptySpecAccepted = spec.safeParse({}).success;
    return {
      if: { properties: { type: { const: type } }, required: ['type'] },
      then: {
        properties: { spec: { $ref: specDoc.$ref } },
        ...(emptySpecAccepted ? {} : { required: ['spec'] }),
      },
    };
  });
  const allOf = [...((step.allOf ?? []) as unknown[]), ...rules];
  return { ...doc, $defs: { ...defs, [STEP_DEFINITION]: { ...step, allOf } } };
}

function byName([a]: [string, unknown], [b]: [string, unknown]): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function finish(doc: JsonSchema, options: SchemaDocOptions): JsonSchema {
  const { $schema: _drop, $defs, title: _title, description, ...rest } = doc;
  const defs = Object.entries(($defs ?? {}) as JsonSchema).sort(byName);
  const summary = options.description ?? description;
  const out: JsonSchema = {
    $schema: JSON_SCHEMA_DRAFT,
    title: options.title,
    ...(summary === undefined ? {} : { description: summary }),
    ...rest,
    ...(defs.length === 0 ? {} : { $defs: Object.fromEntries(defs) }),
  };
  const missing = unresolvedRefs(out);
  if (missing.length > 0) throw new Error(`${options.title}: unresolved $ref ${missing.join(', ')}`);
  return out;
}
