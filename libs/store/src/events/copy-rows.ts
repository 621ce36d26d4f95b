/**
 * COPY, PostgreSQL's bulk-load path, for any table: one round trip and no per-row statement
 * work. Values are written in COPY's text format.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import type { PoolClient } from '../db/pool.js';

const SPECIAL = /[\\\t\n\r]/g;
/** Whether a text needs escaping at all: most fields (ids, names, plain JSON) do not. */
const HAS_SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value in COPY's text format: null is `\N`, objects are JSON, text is escaped. */
export function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  const kind = typeof value;
  if (kind === 'number' || kind === 'boolean') return String(value);
  const text = kind === 'string' ? (value as string) : JSON.stringify(value);
  return HAS_SPECIAL.test(text) ? text.replace(SPECIAL, (c) => ESCAPES[c]!) : text;
}

/** Streams `rows` (values in `columns` order) into `table`. */
export async function copyRows(client: PoolClient, table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
  if (rows.length === 0) return;
  const CHUNK = 1_000;
  function* chunks(): Generator<string> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      let text = '';
      for (let r = i, end = Math.min(i + CHUNK, rows.length); r < end; r++) {
        const row = rows[r]!;
        text += copyField(row[0]);
        for (let c = 1; c < row.length; c++) text += '\t' + copyField(row[c]);
        text += '\n';
      }
      yield text;
    }
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)));
}
