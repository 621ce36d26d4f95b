/**
 * `useTestDatabase()` in a test file: a fresh migrated database for the file, dropped after it.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import { createTestDatabase, type TestDatabase } from './database.js';
import './provided.js';

/** Registers hooks that create the file's database before its tests and drop it after. */
export function useTestDatabase(): { readonly url: string; readonly name: string } {
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase(inject('gantryTemplateDatabase'));
  });
  afterAll(async () => {
    await db?.drop();
  });
  return {
    get url() {
      if (!db) throw new Error('the test database exists only inside tests and hooks');
      return db.url;
    },
    get name() {
      if (!db) throw new Error('the test database exists only inside tests and hooks');
      return db.name;
    },
  };
}

/**
 * A part a `use…()` hook starts in `beforeAll`, or an error naming it when read earlier (at a
 * file's top level rather than in a test or a later hook).
 */
export function started<T>(part: T | undefined, hook: string, name: string): T {
  if (part === undefined) throw new Error(`${hook}: ${name} is not started yet (read it in a test or a later hook)`);
  return part;
}
