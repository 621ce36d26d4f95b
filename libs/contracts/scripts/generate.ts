/**
 * Everything under `docs/contracts/`, generated in memory from contracts: a JSON Schema per
 * message and spec, the AsyncAPI document, the error-code catalog and a README index.
 * Deterministic: the same contracts give byte-identical files (2-space JSON, trailing newline,
 * a fixed key order), which `export.ts --check` relies on.
 */
import type { z } from 'zod';
import pkg from '../package.json' with { type: 'json' };
import { COMMAND_SCHEMAS } from '../src/commands.js';
import { CancelSignal, Dispatch, ExpressAnswer, Heartbeat } from '../src/control.js';
import { STEP_TYPES } from '../src/enums.js';
import { ERROR_CODES, ErrorCatalog, type ErrorCode, GantryError, PROBLEM_TYPE_BASE, toProblem } from '../src/errors.js';
import { EVENT_TYPES, EventBatch, type EventType, JobEvent } from '../src/events.js';
import { JobSpec } from '../src/jobs.js';
import { Limits } from '../src/limits.js';
import { COMMAND_KINDS } from '../src/names.js';
import { BUILTIN_STEP_SPECS } from '../src/steps.js';
import { asyncApiDocument } from './asyncapi.js';
import { jsonSchemaOf } from './json-schema.js';
import { ASYNCAPI_FILE, ERROR_CODES_FILE, README_FILE, SchemaFiles, pascalCase } from './layout.js';
import { formatBytes } from './settings-text.js';

/** One generated file: its path under `docs/contracts/` and its exact content. */
export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
}

interface SchemaEntry {
  readonly path: string;
  readonly schema: z.ZodType;
  /** `input` for what Gantry receives (defaults optional), `output` for what it publishes. */
  readonly io: 'input' | 'output';
  readonly title?: string;
  readonly description?: string;
}

/** The member of the JobEvent union for one event type. */
function eventSchemaOf(type: EventType): z.ZodType {
  const option = JobEvent.options.find((o) => o.shape.type.value === type);
  if (option === undefined) throw new Error(`JobEvent has no member for ${type}`);
  return option;
}

function schemaEntries(): SchemaEntry[] {
  return [
    ...COMMAND_KINDS.map((kind): SchemaEntry => ({ path: SchemaFiles.command(kind), schema: COMMAND_SCHEMAS[kind], io: 'input' })),
    { path: SchemaFiles.jobSpec, schema: JobSpec, io: 'input' },
    ...STEP_TYPES.map((type): SchemaEntry => ({ path: SchemaFiles.stepSpec(type), schema: BUILTIN_STEP_SPECS[type], io: 'input' })),
    { path: SchemaFiles.jobEvent, schema: JobEvent, io: 'output' },
    ...EVENT_TYPES.map((type): SchemaEntry => ({
      path: SchemaFiles.eventType(type),
      schema: eventSchemaOf(type),
      io: 'output',
      title: `${pascalCase(type)}Event`,
      description: `The JobEvent of type ${type}: the envelope every event carries, with this type’s payload.`,
    })),
    { path: SchemaFiles.eventBatch, schema: EventBatch, io: 'output' },
    { path: SchemaFiles.dispatch, schema: Dispatch, io: 'output' },
    { path: SchemaFiles.heartbeat, schema: Heartbeat, io: 'output' },
    { path: SchemaFiles.cancelSignal, schema: CancelSignal, io: 'output' },
    { path: SchemaFiles.expressAnswer, schema: ExpressAnswer, io: 'output' },
  ];
}

function titleOf(entry: SchemaEntry): string {
  const id = entry.schema.meta()?.id;
  const title = entry.title ?? (typeof id === 'string' ? id : undefined);
  if (title === undefined) throw new Error(`${entry.path}: the schema needs an id (.meta({ id })) or a title`);
  return title;
}

/** 2-space JSON with a trailing newline. */
export function serialise(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

function errorCodesDocument() {
  return {
    problemTypeBase: PROBLEM_TYPE_BASE,
    codes: Object.fromEntries(
      ERROR_CODES.map((code) => {
        const { status, title, description } = ErrorCatalog[code];
        return [code, { status, title, description, type: toProblem(new GantryError(code)).type }];
      }),
    ),
  };
}

function readme(rows: readonly (readonly [path: string, what: string])[]): string {
  const codeOnly: ErrorCode[] = ['VALIDATION_FAILED', 'LIMIT_EXCEEDED'];
  return [
    '# Gantry contracts',
    '',
    'Generated from `libs/contracts` by `npm run contracts:export`; do not edit by hand.',
    '`npm run contracts:export -- --check` fails when a file here is missing, stale or out of date.',
    '',
    'JSON Schemas are draft 2020-12. A few rules are checked in code only and are not in the schemas:',
    'exactly one of `argv` or `script` in a COMMAND spec, unique step names, serialised sizes',
    `(payload ${formatBytes(Limits.maxPayloadBytes)}, step spec ${formatBytes(Limits.maxStepSpecBytes)}, ` +
      `command ${formatBytes(Limits.maxCommandBytes)}) and no \`..\` in paths. Gantry refuses input that breaks ` +
      `them with ${codeOnly.map((c) => `\`${c}\``).join(' or ')}.`,
    '',
    '| File | Describes |',
    '| --- | --- |',
    ...rows.map(([path, what]) => `| [${path}](${path}) | ${what.replaceAll('|', '\\|')} |`),
    '',
  ].join('\n');
}

function byPath(a: GeneratedFile, b: GeneratedFile): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

/** Every file of `docs/contracts/`, sorted by path. */
export function generateContractDocs(): GeneratedFile[] {
  const files: GeneratedFile[] = [];
  const rows: [string, string][] = [
    [ASYNCAPI_FILE, 'The NATS interface (AsyncAPI 3.0.0) for the default namespace: subjects, streams, consumers, headers.'],
    [ERROR_CODES_FILE, 'The error-code catalog: HTTP status, title, meaning and problem type of each code.'],
  ];
  for (const entry of schemaEntries()) {
    const title = titleOf(entry);
    const doc = jsonSchemaOf(entry.schema, {
      io: entry.io,
      title,
      ...(entry.description === undefined ? {} : { description: entry.description }),
    });
    files.push({ path: entry.path, content: serialise(doc) });
    rows.push([entry.path, typeof doc.description === 'string' ? `${title}: ${doc.description}` : title]);
  }
  files.push({ path: ASYNCAPI_FILE, content: serialise(asyncApiDocument(pkg.version)) });
  files.push({ path: ERROR_CODES_FILE, content: serialise(errorCodesDocument()) });
  files.push({ path: README_FILE, content: readme(rows) });
  return files.sort(byPath);
}
