/** Values the integration project's global setup provides to test files (vitest `inject`). */
declare module 'vitest' {
  export interface ProvidedContext {
    /** The migrated template each test file's database is cloned from. */
    gantryTemplateDatabase: string;
  }
}

export {};
