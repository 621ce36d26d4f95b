/**
 * COPY, PostgreSQL's bulk-load path, for any table: one round trip and no per-row statement
 * work. Values are written in COPY's text format.
 */
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { from as copyFrom } from 'pg-copy-streams';
import type { PoolClient } from '../db/pool.js';

const SPECIAL = /[\\\t\n\r]/g;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A value in COPY's text format: null is `\N`, objects are JSON, text is escaped. */
export function copyField(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  const text = typeof value === 'string' ? value : JSON.stringify(value);
  return text.replace(SPECIAL, (c) => ESCAPES[c]!);
}

/** Streams `rows` (values in `columns` order) into `table`. */
export async function copyRows(client: PoolClient, table: string, columns: readonly string[], rows: readonly (readonly unknown[])[]): Promise<void> {
  if (rows.length === 0) return;
  const CHUNK = 1_000;
  function* chunks(): Generator<string> {
    for (let i = 0; i < rows.length; i += CHUNK) {
      let text = '';
      for (const row of rows.slice(i, i + CHUNK)) text += row.map(copyField).join('\t') + '\n';
      yield text;
    }
  }
  await pipeline(Readable.from(chunks()), client.query(copyFrom(`COPY ${table} (${columns.join(', ')}) FROM STDIN`)));
}
