/**
 * Set-based UPDATEs from patches: every row's changes travel in one JSON document and one
 * statement updates any number of rows. The statement names only the columns some row of the
 * batch changes; a column that only some rows change keeps its value in the others.
 */

type ColumnType = 'text' | 'int' | 'timestamptz' | 'jsonb';

/** A patchable column: its SQL name and type. */
export interface PatchColumn {
  readonly column: string;
  readonly type: ColumnType;
}

/** A row to update: its key(s) and the changed columns by SQL name. */
export interface PatchRow {
  readonly id: string;
  readonly p: Readonly<Record<string, unknown>>;
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

/**
 * The SET list for `rows`: a column every row changes is assigned directly; one that only
 * some rows change is assigned under `CASE WHEN v.p ? column`.
 */
export function patchAssignments(alias: string, columns: readonly PatchColumn[], rows: readonly PatchRow[]): string[] {
  const assignments: string[] = [];
  for (const c of columns) {
    const changing = rows.filter((r) => c.column in r.p).length;
    if (changing === 0) continue;
    assignments.push(
      changing === rows.length
        ? `${c.column} = ${valueExpr(c)}`
        : `${c.column} = CASE WHEN v.p ? '${c.column}' THEN ${valueExpr(c)} ELSE ${alias}.${c.column} END`,
    );
  }
  return assignments;
}

/** Serialises a timestamp for a patch: ISO text, PostgreSQL's `'now'`, or null. */
export function stampValue(stamp: Date | 'now' | null): string | null {
  return stamp instanceof Date ? stamp.toISOString() : stamp;
}
