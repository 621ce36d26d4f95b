/**
 * Job files: a job in YAML or JSON, the same document `POST /runner-jobs` takes. The file is
 * parsed with the `yaml` package (JSON is YAML), keeping every node's source range, and
 * validated with the contracts' `JobSpec` schema before anything is sent. Each problem is
 * reported at its place in the file — `job.yaml:12:9: steps.1.spec.argv: …` — by walking the
 * zod issue's path through the YAML document to the deepest node that exists (the offending
 * value, the key of an unknown field, or the map a required field is missing from).
 */
import { readFile } from 'node:fs/promises';
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import type { z } from 'zod';
import { formatPath, JobSpec, type JobSpecInput } from '@gantry/contracts';
import { CliError, EXIT } from './exit.js';

/** One problem of a job file, with its place when known (1-based line and column). */
export interface FileIssue {
  readonly path: string;
  readonly message: string;
  readonly line?: number;
  readonly col?: number;
}

/** A job file that does not parse or validate; exit code 2 (usage). */
export class JobFileError extends CliError {
  override readonly name = 'JobFileError';

  constructor(
    readonly file: string,
    readonly issues: readonly FileIssue[],
  ) {
    super(
      [
        `${file} is not a valid job (${issues.length} problem${issues.length === 1 ? '' : 's'}):`,
        ...issues.map((i) => `  ${file}${i.line === undefined ? '' : `:${i.line}:${i.col}`}: ${i.path ? `${i.path}: ` : ''}${i.message}`),
      ].join('\n'),
      EXIT.usage,
    );
  }
}

/** The node at `path`, or the deepest ancestor that exists (and whether it is the node itself). */
function nodeAt(doc: Document, path: readonly PropertyKey[]): { node: Node | null; exact: boolean } {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : (doc.getIn(path.slice(0, n) as unknown[], true) as Node | undefined);
    if (node && typeof node === 'object' && 'range' in node) return { node, exact: n === path.length };
  }
  return { node: null, exact: false };
}

/** The key node of `key` in the map at `path`. */
function keyNode(doc: Document, path: readonly PropertyKey[], key: string): Node | null {
  const map = path.length === 0 ? doc.contents : doc.getIn(path as unknown[], true);
  if (!isMap(map)) return null;
  const pair = map.items.find((p) => isScalar(p.key) && String(p.key.value) === key);
  return pair && isScalar(pair.key) ? pair.key : null;
}

function place(node: Node | null, lines: LineCounter): { line?: number; col?: number } {
  const offset = node?.range?.[0];
  if (offset === undefined) return {};
  const { line, col } = lines.linePos(offset);
  return { line, col };
}

/** The issues of zod's `error`, each placed in the document. */
function placeIssues(doc: Document, lines: LineCounter, error: z.ZodError): FileIssue[] {
  return error.issues.flatMap((issue): FileIssue[] => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({
        path: formatPath([...issue.path, key]),
        message: 'unknown field',
        ...place(keyNode(doc, issue.path, key) ?? nodeAt(doc, issue.path).node, lines),
      }));
    }
    const { node, exact } = nodeAt(doc, issue.path);
    const missing = !exact && issue.code === 'invalid_type';
    const message = missing ? `required field is missing (expected ${issue.expected})` : issue.message;
    return [{ path: formatPath(issue.path), message, ...place(node, lines) }];
  });
}

/** Parses and validates the text of job file `file`; throws {@link JobFileError}. Returns the job as written. */
export function parseJobText(text: string, file: string): JobSpecInput {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new JobFileError(
      file,
      doc.errors.map((e) => {
        const { line, col } = lines.linePos(e.pos[0]);
        return { path: '', message: e.message.split('\n')[0]!, line, col };
      }),
    );
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) throw new JobFileError(file, [{ path: '', message: 'the file is empty: a job is a mapping with type and steps' }]);
  const parsed = JobSpec.safeParse(value);
  if (!parsed.success) throw new JobFileError(file, placeIssues(doc, lines, parsed.error));
  return value as JobSpecInput;
}

/** Reads and validates job file `path` (usage error when it cannot be read). */
export async function readJobFile(path: string): Promise<JobSpecInput> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, EXIT.usage);
  }
  return parseJobText(text, path);
}
