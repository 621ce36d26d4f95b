/**
 * The OpenAPI 3.1 document of the API, generated from the route declarations and their zod
 * schemas (zod 4's `z.toJSONSchema`), so it always describes what the routes validate and answer.
 *
 * Request bodies are documented as input (fields with defaults are optional), answers, query
 * strings and path parameters as output (the types the values have once read). Schemas with an
 * id (`.meta({ id })`) become `components.schemas`; zod's anonymous recursive JSON value becomes
 * `JsonValue`. Every operation lists the problem answers it can give.
 */
import { z } from 'zod';
import { ErrorCatalog, type ErrorCode } from '@gantry/contracts';
import type { ApiRoute } from './http/route.js';
import { PROBLEM_CONTENT_TYPE } from './problems.js';
import { ProblemView } from './schemas.js';

type Json = { [key: string]: unknown };
type Io = 'input' | 'output';

const COMPONENTS = '#/components/schemas/';
const ANONYMOUS = /^__schema\d+$/;

/** Converts every schema in one pass, so shared definitions get one name. */
function convert(schemas: readonly z.ZodType[], io: Io): { roots: Json[]; defs: Json } {
  const wrapper = z.object(Object.fromEntries(schemas.map((s, i) => [`s${i}`, s])));
  const doc = z.toJSONSchema(wrapper, { target: 'draft-2020-12', io, unrepresentable: 'any', cycles: 'ref', reused: 'inline' }) as Json;
  const props = doc.properties as Record<string, Json>;
  return { roots: schemas.map((_, i) => props[`s${i}`]!), defs: (doc.$defs ?? {}) as Json };
}

function mapRefs<T>(node: T, rewrite: (ref: string) => string): T {
  if (Array.isArray(node)) return node.map((n: unknown) => mapRefs(n, rewrite)) as T;
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? rewrite(v) : mapRefs(v, rewrite)]),
  ) as T;
}

function selfShape(key: string, schema: unknown): string {
  return JSON.stringify(mapRefs(schema, (ref) => (ref === `#/$defs/${key}` ? '#self' : ref)));
}

/** zod's rendering of `z.json()`, its recursion written as `#self`. */
const JSON_VALUE_SHAPE = (() => {
  const { defs } = convert([z.json()], 'output');
  const [key, schema] = Object.entries(defs)[0]!;
  return selfShape(key, schema);
})();

/** Names for zod's anonymous definitions: identical ones share a name; the JSON value is `JsonValue`. */
function nameAnonymous(defs: Json, prefix: string): Map<string, string> {
  const names = new Map<string, string>();
  const byShape = new Map<string, string>();
  for (const [key, schema] of Object.entries(defs)) {
    if (!ANONYMOUS.test(key)) continue;
    const shape = selfShape(key, schema);
    const name = byShape.get(shape) ?? (shape === JSON_VALUE_SHAPE ? 'JsonValue' : `${prefix}Schema${byShape.size}`);
    byShape.set(shape, name);
    names.set(key, name);
  }
  return names;
}

/** Converts `schemas` and merges their definitions into `components`, renaming clashes. */
function register(components: Json, schemas: readonly z.ZodType[], io: Io): Json[] {
  const { roots, defs } = convert(schemas, io);
  const names = nameAnonymous(defs, io === 'input' ? 'Input' : '');
  for (const key of Object.keys(defs)) {
    if (names.has(key)) continue;
    const clash = components[key] !== undefined && JSON.stringify(components[key]) !== JSON.stringify(defs[key]);
    names.set(key, clash ? `${key}${io === 'input' ? 'Input' : 'Output'}` : key);
  }
  const rewrite = (ref: string) => (ref.startsWith('#/$defs/') ? COMPONENTS + names.get(ref.slice(8))! : ref);
  for (const [key, schema] of Object.entries(defs)) {
    const name = names.get(key)!;
    if (components[name] === undefined) components[name] = mapRefs(schema, rewrite);
  }
  return roots.map((r) => mapRefs(r, rewrite));
}

function resolve(components: Json, schema: Json): Json {
  const ref = schema.$ref;
  return typeof ref === 'string' && ref.startsWith(COMPONENTS) ? (components[ref.slice(COMPONENTS.length)] as Json) : schema;
}

function parameters(components: Json, schema: Json | undefined, where: 'path' | 'query'): Json[] {
  if (!schema) return [];
  const object = resolve(components, schema);
  const required = new Set((object.required as string[] | undefined) ?? []);
  return Object.entries((object.properties ?? {}) as Record<string, Json>).map(([name, prop]) => ({
    name,
    in: where,
    required: where === 'path' || required.has(name),
    ...(typeof prop.description === 'string' ? { description: prop.description } : {}),
    schema: prop,
    ...(prop.type === 'array' ? { style: 'form', explode: false } : {}),
  }));
}

const COMMON_ERRORS = [400, 500];
const AUTH_ERRORS = [401, 403, 429];

function problemResponse(status: number): Json {
  const codes = (Object.keys(ErrorCatalog) as ErrorCode[]).filter((c) => ErrorCatalog[c].status === status);
  return {
    description: codes.map((c) => `\`${c}\`: ${ErrorCatalog[c].description}`).join(' ') || 'A problem.',
    content: { [PROBLEM_CONTENT_TYPE.split(';')[0]!]: { schema: { $ref: `${COMPONENTS}Problem` } } },
  };
}

/** The OpenAPI document of `routes`. */
export function openApiDocument(routes: readonly ApiRoute[], info: { version: string }): Json {
  const components: Json = {};
  const inputs = routes.map((r) => r.body).filter((s): s is z.ZodType => s !== undefined);
  const outputs = routes.flatMap((r) => [r.params, r.query, ...Object.values(r.responses).map((d) => d.schema)]);
  const bodies = register(components, inputs, 'input');
  const present = outputs.filter((s): s is z.ZodType => s !== undefined);
  const converted = register(components, [...present, ProblemView], 'output');
  const outputOf = new Map(present.map((s, i) => [s, converted[i]!]));
  const bodyOf = new Map(inputs.map((s, i) => [s, bodies[i]!]));

  const paths: Record<string, Json> = {};
  for (const route of routes) {
    const path = route.url.replace(/:(\w+)/g, '{$1}');
    const errors = [...COMMON_ERRORS, ...(route.scope ? AUTH_ERRORS : []), ...(route.params ? [404] : []), ...(route.errors ?? [])];
    const responses: Json = {};
    for (const [status, doc] of Object.entries(route.responses)) {
      const type = doc.contentType ?? 'application/json';
      responses[status] = {
        description: doc.description,
        ...(doc.schema ? { content: { [type]: { schema: outputOf.get(doc.schema) } } } : doc.contentType ? { content: { [type]: {} } } : {}),
        ...(doc.headers
          ? { headers: Object.fromEntries(Object.entries(doc.headers).map(([h, d]) => [h, { description: d, schema: { type: 'string' } }])) }
          : {}),
      };
    }
    for (const status of [...new Set(errors)].sort()) responses[String(status)] = problemResponse(status);
    paths[path] = {
      ...paths[path],
      [route.method.toLowerCase()]: {
        operationId: `${route.method.toLowerCase()}${route.url.replace(/[^A-Za-z0-9]+(\w)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase())}`,
        summary: route.summary,
        ...(route.description ? { description: route.description } : {}),
        ...(route.scope ? { security: [{ bearer: [] }], 'x-required-scope': route.scope } : { security: [] }),
        parameters: [
          ...parameters(components, route.params ? outputOf.get(route.params) : undefined, 'path'),
          ...parameters(components, route.query ? outputOf.get(route.query) : undefined, 'query'),
          ...(route.headers ?? []).map((h) => ({ name: h.name, in: 'header', required: false, description: h.description, schema: { type: 'string' } })),
        ],
        ...(route.body
          ? { requestBody: { required: !route.bodyOptional, content: { 'application/json': { schema: bodyOf.get(route.body) } } } }
          : {}),
        responses,
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gantry API',
      version: info.version,
      description:
        'Submit, follow and steer jobs. Every request but this document, /docs and the health endpoints (/healthz, /readyz, /metrics) carries `Authorization: Bearer <token>`; the token decides the workspace. Scopes nest: jobs:admin ⊃ jobs:write ⊃ jobs:read. Errors are RFC 9457 problem documents.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    paths,
    components: {
      schemas: Object.fromEntries(Object.entries(components).sort(([a], [b]) => a.localeCompare(b))),
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token made with `gantry token create`.' } },
    },
  };
}
