/**
 * The setup most of the API's integration test files share: a database of their own, a
 * provisioned NATS namespace, an API server on both, and a job writer that plays the part of
 * the scheduler and the workers (its commits are fanned out like theirs). Started before the
 * file's tests, stopped after them; a file adds its own workspaces in its own `beforeAll`.
 */
import { afterAll, beforeAll } from 'vitest';
import { createTestNamespace, started as startedPart, type TestNamespace, useTestDatabase } from '@gantry/testkit';
import { createTestWriter, type TestWriter } from './fixtures.js';
import { startTestApi, type TestApi, type TestApiOptions } from './harness.js';

/** What {@link useTestApi} gives a test file; each part throws if read before `beforeAll`. */
export interface ApiTestContext {
  readonly db: { readonly url: string; readonly name: string };
  readonly ns: TestNamespace;
  readonly api: TestApi;
  readonly writer: TestWriter;
}

/** Registers the hooks that start and stop the file's API (with `settings` over the test ones), namespace and writer. */
export function useTestApi(settings: TestApiOptions['settings'] = {}): ApiTestContext {
  const db = useTestDatabase();
  let ns: TestNamespace | undefined;
  let api: TestApi | undefined;
  let writer: TestWriter | undefined;
  beforeAll(async () => {
    ns = await createTestNamespace({ provision: true });
    api = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, settings });
    writer = createTestWriter(api.pool, ns.nc, ns.names);
  });
  afterAll(async () => {
    await writer?.close();
    await api?.stop();
    await ns?.cleanup();
  });
  const started = <T>(part: T | undefined, name: string): T => startedPart(part, 'useTestApi', name);
  return {
    db,
    get ns() {
      return started(ns, 'the namespace');
    },
    get api() {
      return started(api, 'the API');
    },
    get writer() {
      return started(writer, 'the writer');
    },
  };
}
