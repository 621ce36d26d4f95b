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
