/**
 * Set-based UPDATEs from patches: every row's changes travel in one JSON document and one
 * statement updates any number of rows. The statement's text is the same whatever the rows
 * change, so that it is parsed and planned once (a named statement): every column is assigned
 * under `CASE WHEN v.p ? column`, and a row that does not change a column keeps its value
 * (assigning a column its own value does not make an update non-HOT).
 */

type ColumnType = 'text' | 'int' | 'timestamptz' | 'jsonb';

/** A patchable column: its SQL name and type. */
export interface PatchColumn {
  readonly column: string;
  readonly type: ColumnType;
}

function valueExpr(c: PatchColumn): string {
  const raw = `v.p->>'${c.column}'`;
  switch (c.type) {
    case 'text':
      return raw;
    case 'int':
      return `(${raw})::int`;
    case 'timestamptz':
      return `(${raw})::timestamptz`;
    case 'jsonb':
      return `NULLIF(v.p->'${c.column}', 'null'::jsonb)`;
  }
}

/** The SET list of `columns`: each takes the row's patched value when its patch names it. */
export function patchAssignments(alias: string, columns: readonly PatchColumn[]): string[] {
  return columns.map((c) => `${c.column} = CASE WHEN v.p ? '${c.column}' THEN ${valueExpr(c)} ELSE ${alias}.${c.column} END`);
}

/** Serialises a timestamp for a patch: ISO text, PostgreSQL's `'now'`, or null. */
export function stampValue(stamp: Date | 'now' | null): string | null {
  return stamp instanceof Date ? stamp.toISOString() : stamp;
}
