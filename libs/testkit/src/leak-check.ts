/**
 * Vitest setup file of the integration project: after each test file, nothing it opened
 * (NATS connections, PostgreSQL pools, ORMs, servers) may still be open.
 */
import { afterAll } from 'vitest';
import { openResources } from '@gantry/runtime/resources';

afterAll(() => {
  const open = openResources();
  if (open.length > 0) {
    const list = open.map((r) => `${r.kind} ${r.name}`).join(', ');
    throw new Error(`test file left ${open.length} resource(s) open: ${list}`);
  }
});
