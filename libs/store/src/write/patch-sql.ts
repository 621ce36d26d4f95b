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
  /**
   * Values a patch may name instead of giving them, each with the SQL that computes it from the
   * row being updated, given the row's alias (a job's deadline from its own `timeout_ms`, say).
   */
  readonly named?: Readonly<Record<string, (alias: string) => string>>;
}

/** The patched value of `c` in the row aliased `alias`: a named value's SQL, else the given value cast. */
function valueExpr(c: PatchColumn, alias: string): string {
  const named = Object.entries(c.named ?? {});
  if (named.length === 0) return castValue(c);
  const cases = named.map(([name, sql]) => `WHEN '${name}' THEN ${sql(alias)}`).join(' ');
  return `CASE v.p->>'${c.column}' ${cases} ELSE ${castValue(c)} END`;
}

/** The value the patch gives `c`, cast to its type. */
function castValue(c: PatchColumn): string {
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
  return columns.map((c) => `${c.column} = CASE WHEN v.p ? '${c.column}' THEN ${valueExpr(c, alias)} ELSE ${alias}.${c.column} END`);
}

/** Serialises a timestamp for a patch: ISO text, PostgreSQL's `'now'`, a named value, or null. */
export function stampValue(stamp: Date | string | null): string | null {
  return stamp instanceof Date ? stamp.toISOString() : stamp;
}
