import { describe, expect, it } from 'vitest';
import pkg from '../package.json' with { type: 'json' };
import { ASYNCAPI_FILE, ERROR_CODES_FILE, README_FILE, SchemaFiles } from '../scripts/layout.js';
import { generateContractDocs } from '../scripts/generate.js';
import { JSON_SCHEMA_DRAFT, unresolvedRefs } from '../scripts/json-schema.js';
import { STEP_TYPES } from './enums.js';
import { ERROR_CODES, ErrorCatalog } from './errors.js';
import { EVENT_PAYLOADS, EVENT_TYPES } from './events.js';
import { Priority } from './limits.js';
import { COMMAND_KINDS, DEFAULT_POOL, Headers, names } from './names.js';
import { parseCommand } from './parse.js';
import { BUILTIN_STEP_SPECS } from './steps.js';
import { dispatchConsumer, schedulerConsumer, streamSettings } from './streams.js';

type Json = { [key: string]: unknown };

const files = generateContractDocs();
const byPath = new Map(files.map((f) => [f.path, f.content]));
const json = (path: string): Json => {
  const content = byPath.get(path);
  if (content === undefined) throw new Error(`${path} was not generated`);
  return JSON.parse(content) as Json;
};
const schemaPaths = files.map((f) => f.path).filter((p) => p.startsWith('schemas/'));

/** Every value under `node` for `key`, depth first. */
function valuesOf(node: unknown, key: string): unknown[] {
  if (Array.isArray(node)) return node.flatMap((n) => valuesOf(n, key));
  if (node === null || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([k, v]) => [...(k === key ? [v] : []), ...valuesOf(v, key)]);
}

/** Resolves a local JSON pointer (`#/a/b`) in `doc`. */
function resolvePointer(doc: unknown, ref: string): unknown {
  return ref
    .slice(2)
    .split('/')
    .map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'))
    .reduce<unknown>((node, token) => (node as Json | undefined)?.[token], doc);
}

describe('contract export', () => {
  it('produces byte-identical files on every run', () => {
    expect(generateContractDocs()).toEqual(files);
    expect(generateContractDocs().map((f) => f.content).join('\0')).toBe(files.map((f) => f.content).join('\0'));
  });

  it('writes each file once, sorted by path, inside docs/contracts', () => {
    const paths = files.map((f) => f.path);
    expect(new Set(paths).size).toBe(paths.length);
    expect([...paths].sort()).toEqual(paths);
    for (const p of paths) expect(p).toMatch(/^[A-Za-z0-9][A-Za-z0-9_./-]*$/);
    for (const p of paths) expect(p.split('/')).not.toContain('..');
  });

  it('has a schema for every command, event type, built-in step and control message', () => {
    const expected = [
      ...COMMAND_KINDS.map((k) => SchemaFiles.command(k)),
      ...EVENT_TYPES.map((t) => SchemaFiles.eventType(t)),
      ...STEP_TYPES.map((t) => SchemaFiles.stepSpec(t)),
      SchemaFiles.jobEvent,
      SchemaFiles.eventBatch,
      SchemaFiles.jobSpec,
      SchemaFiles.dispatch,
      SchemaFiles.heartbeat,
      SchemaFiles.cancelSignal,
      SchemaFiles.expressAnswer,
    ];
    expect([...schemaPaths].sort()).toEqual(expected.sort());
    expect(byPath.has(ASYNCAPI_FILE) && byPath.has(ERROR_CODES_FILE) && byPath.has(README_FILE)).toBe(true);
    expect(files).toHaveLength(expected.length + 3);
  });

  it('writes 2-space JSON with a trailing newline', () => {
    for (const f of files.filter((x) => x.path.endsWith('.json'))) {
      expect(f.content, f.path).toBe(`${JSON.stringify(JSON.parse(f.content), null, 2)}\n`);
    }
  });
});

describe('exported JSON Schemas', () => {
  it.each(schemaPaths)('%s is a self-contained draft 2020-12 schema', (path) => {
    const doc = json(path);
    expect(doc.$schema).toBe(JSON_SCHEMA_DRAFT);
    expect(typeof doc.title).toBe('string');
    expect(Object.keys(doc).slice(0, 2)).toEqual(['$schema', 'title']);
    expect(unresolvedRefs(doc)).toEqual([]);
    for (const ref of valuesOf(doc, '$ref')) expect(String(ref)).toMatch(/^#(\/\$defs\/[A-Za-z]+)?$/);
    const defs = Object.keys((doc.$defs ?? {}) as Json);
    expect(defs).toEqual([...defs].sort());
    expect(byPath.get(path)).not.toContain('__schema');
  });

  it.each(COMMAND_KINDS)('the %s command requires its envelope and fixes its kind', (kind) => {
    const doc = json(SchemaFiles.command(kind));
    expect(doc.title).toBe(`${kind[0]!.toUpperCase()}${kind.slice(1)}Command`);
    expect(doc.additionalProperties).toBe(false);
    expect(doc.required).toEqual(expect.arrayContaining(['v', 'id', 'workspaceId', 'kind']));
    const props = doc.properties as Record<string, Json>;
    expect(props.kind!.const).toBe(kind);
    expect(props.v!.const).toBe(1);
  });

  it('describes job defaults as optional input with their default values', () => {
    const spec = json(SchemaFiles.jobSpec);
    const props = spec.properties as Record<string, Json>;
    expect(spec.required).toEqual(['type', 'steps']);
    expect(props.priority!.default).toBe(Priority.default);
    expect(props.priority!.maximum).toBe(Priority.max);
    expect(json(SchemaFiles.command('submit')).properties).toHaveProperty('job.$ref', '#/$defs/JobSpec');
  });

  it('ties each built-in step type to its spec schema', () => {
    for (const path of [SchemaFiles.jobSpec, SchemaFiles.command('submit')]) {
      const step = ((json(path).$defs as Json).StepDefinition ?? {}) as { allOf?: Json[] };
      const rules = step.allOf ?? [];
      expect(rules.map((r) => valuesOf(r.if, 'const')[0])).toEqual(Object.keys(BUILTIN_STEP_SPECS));
      for (const [type, schema] of Object.entries(BUILTIN_STEP_SPECS)) {
        const then = rules.find((r) => valuesOf(r.if, 'const')[0] === type)!.then as Json;
        expect(then.properties).toEqual({ spec: { $ref: `#/$defs/${String(schema.meta()?.id)}` } });
        expect(then.required, type).toEqual(schema.safeParse({}).success ? undefined : ['spec']);
      }
    }
  });

  it.each(EVENT_TYPES)('the %s event fixes its type and lists its payload fields', (type) => {
    const doc = json(SchemaFiles.eventType(type));
    const props = doc.properties as Record<string, Json>;
    expect(props.type!.const).toBe(type);
    expect(Object.keys(props.payload!.properties as Json)).toEqual(Object.keys(EVENT_PAYLOADS[type].shape));
    expect(doc.required).toEqual(expect.arrayContaining(['v', 'id', 'jobId', 'sequence', 'type', 'payload']));
  });

  it('unions every event type in JobEvent', () => {
    const members = json(SchemaFiles.jobEvent).oneOf as Json[];
    expect(members.map((m) => (m.properties as Record<string, Json>).type!.const)).toEqual(EVENT_TYPES);
  });
});

describe('error-codes.json', () => {
  it('lists every code with its status, title and problem type', () => {
    const doc = json(ERROR_CODES_FILE) as { codes: Record<string, Json> };
    expect(Object.keys(doc.codes)).toEqual(ERROR_CODES);
    for (const code of ERROR_CODES) {
      expect(doc.codes[code]).toEqual({ ...ErrorCatalog[code], type: `https://gantry.dev/problems#${code}` });
    }
  });
});

describe('asyncapi.json', () => {
  const doc = json(ASYNCAPI_FILE);
  const n = names();
  const channels = doc.channels as Record<string, Json>;
  const operations = doc.operations as Record<string, Json>;
  const messages = (doc.components as { messages: Record<string, Json> }).messages;

  it('is an AsyncAPI 3.0.0 document for the package version with a NATS server', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect((doc.info as Json).version).toBe(pkg.version);
    expect((doc.servers as Record<string, Json>).nats!.protocol).toBe('nats');
  });

  it('has a channel at each command subject, receiving the command', () => {
    for (const kind of COMMAND_KINDS) {
      const id = `${kind}Command`;
      expect(channels[id]!.address).toBe(n.subjects.command(kind));
      const op = Object.values(operations).find((o) => (o.channel as Json).$ref === `#/channels/${id}`)!;
      expect(op.action).toBe('receive');
      expect(op['x-gantry-consumer']).toEqual(schedulerConsumer(n));
    }
  });

  it('has the dispatch, events, dead-letter, heartbeat and cancel channels with their parameters', () => {
    const addresses = Object.fromEntries(Object.entries(channels).map(([id, c]) => [id, c.address]));
    expect(addresses).toMatchObject({
      dispatch: 'gantry.dispatch.{pool}',
      jobEvents: 'gantry.events.{workspaceId}.{jobId}',
      deadLetters: 'gantry.dlq.{source}',
      heartbeats: 'gantry.ctl.heartbeat.{workerId}',
      cancelSignals: 'gantry.ctl.cancel.{workerId}',
    });
    for (const c of Object.values(channels)) {
      const params = [...String(c.address).matchAll(/\{(\w+)\}/g)].map((m) => m[1]);
      expect(Object.keys((c.parameters ?? {}) as Json)).toEqual(params);
    }
    expect(messages.deadLetter!.headers).toHaveProperty(['properties', Headers.deadLetterCode, 'enum'], ERROR_CODES);
  });

  it('carries the stream and consumer settings from contracts', () => {
    const streams = streamSettings(n);
    const onChannels = Object.values(channels).flatMap((c) => (c['x-gantry-stream'] ? [c['x-gantry-stream']] : []));
    for (const s of streams) expect(onChannels).toContainEqual(s);
    const pool = (operations.receiveDispatch!['x-gantry-consumer'] ?? {}) as Json;
    const real = dispatchConsumer(n, DEFAULT_POOL);
    expect(pool).toEqual({ ...real, durableName: 'dispatch-{pool}', filterSubject: 'gantry.dispatch.{pool}', description: real.description.replace(DEFAULT_POOL, '{pool}') });
  });

  it('sends events and dead letters, and both sends and receives dispatches, heartbeats and cancels', () => {
    const actions = (channel: string) =>
      Object.values(operations)
        .filter((o) => (o.channel as Json).$ref === `#/channels/${channel}`)
        .map((o) => o.action)
        .sort();
    expect(actions('jobEvents')).toEqual(['send']);
    expect(actions('deadLetters')).toEqual(['send']);
    for (const c of ['dispatch', 'heartbeats', 'cancelSignals']) expect(actions(c)).toEqual(['receive', 'send']);
  });

  it('resolves every reference: local ones in the document, file ones to exported schemas', () => {
    const refs = valuesOf(doc, '$ref').map(String);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) {
      if (ref.startsWith('./')) expect(byPath.has(ref.slice(2)), ref).toBe(true);
      else expect(resolvePointer(doc, ref), ref).toBeDefined();
    }
  });

  it('uses only header names from contracts', () => {
    const known = new Set<string>(Object.values(Headers));
    for (const m of Object.values(messages)) {
      for (const h of Object.keys(((m.headers as Json | undefined)?.properties ?? {}) as Json)) expect(known.has(h), h).toBe(true);
    }
    expect(messages.submitCommand!.headers).toHaveProperty('required', [Headers.msgId]);
  });

  it('gives each command an example that parses and whose Nats-Msg-Id is the command id', () => {
    for (const kind of COMMAND_KINDS) {
      const [example] = messages[`${kind}Command`]!.examples as { headers: Json; payload: Json }[];
      const parsed = parseCommand(kind, new TextEncoder().encode(JSON.stringify(example!.payload)));
      expect(example!.headers[Headers.msgId]).toBe(parsed.id);
    }
  });
});

describe('README.md', () => {
  it('links every other generated file', () => {
    const readme = byPath.get(README_FILE)!;
    for (const f of files.filter((x) => x.path !== README_FILE)) expect(readme).toContain(`](${f.path})`);
  });
});
