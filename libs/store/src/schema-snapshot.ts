/**
 * A deterministic text picture of the database schema (tables, columns, constraints, indexes,
 * triggers, functions, row-level security and its policies, table grants), read from PostgreSQL's catalogs. The committed snapshot is compared with
 * a freshly migrated database in CI, so a migration and the snapshot cannot drift apart.
 */
import type pg from 'pg';

const QUERIES: readonly { title: string; sql: string }[] = [
  {
    title: 'columns',
    sql: `SELECT table_name || '.' || column_name || ' ' || udt_name
            || CASE WHEN is_nullable = 'NO' THEN ' not null' ELSE '' END
            || COALESCE(' default ' || column_default, '') AS line
          FROM information_schema.columns WHERE table_schema = 'public'
          ORDER BY table_name, ordinal_position`,
  },
  {
    title: 'constraints',
    sql: `SELECT conrelid::regclass::text || ' ' || conname || ': ' || pg_get_constraintdef(oid) AS line
          FROM pg_constraint WHERE connamespace = 'public'::regnamespace
          ORDER BY conrelid::regclass::text, conname`,
  },
  {
    title: 'indexes',
    sql: `SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, indexname`,
  },
  {
    title: 'triggers',
    sql: `SELECT pg_get_triggerdef(t.oid) AS line FROM pg_trigger t
          JOIN pg_class c ON c.oid = t.tgrelid
          WHERE c.relnamespace = 'public'::regnamespace AND NOT t.tgisinternal
          ORDER BY c.relname, t.tgname`,
  },
  {
    title: 'functions',
    sql: `SELECT pg_get_functiondef(p.oid) AS line FROM pg_proc p
          WHERE p.pronamespace = 'public'::regnamespace ORDER BY p.proname`,
  },
  {
    title: 'row-level security',
    sql: `SELECT c.relname || CASE WHEN c.relforcerowsecurity THEN ' forced' ELSE ' enabled' END AS line
          FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relrowsecurity ORDER BY c.relname`,
  },
  {
    title: 'policies',
    sql: `SELECT tablename || ' ' || policyname || ' ' || cmd || ' to ' || array_to_string(roles, ',') || ': ' || coalesce(qual, '')
            || coalesce(' check ' || with_check, '') AS line
          FROM pg_policies WHERE schemaname = 'public' ORDER BY tablename, policyname`,
  },
  {
    title: 'grants to gantry roles',
    sql: `SELECT table_name || ' ' || grantee || ' ' || string_agg(privilege_type, ',' ORDER BY privilege_type) AS line
          FROM information_schema.role_table_grants
          WHERE table_schema = 'public' AND grantee LIKE 'gantry\\_%'
          GROUP BY table_name, grantee ORDER BY table_name, grantee`,
  },
];

/** Reads the schema of the database `client` is connected to, as stable text. */
export async function schemaSnapshot(client: pg.ClientBase): Promise<string> {
  const sections: string[] = [];
  for (const { title, sql } of QUERIES) {
    const { rows } = await client.query<{ line: string }>(sql);
    sections.push(`-- ${title}\n${rows.map((r) => r.line.trim()).join('\n')}\n`);
  }
  return sections.join('\n');
}
