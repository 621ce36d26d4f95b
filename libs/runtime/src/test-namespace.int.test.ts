import { AckPolicy } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { NAMESPACE_PATTERN } from '@gantry/contracts';
import { createTestNamespace } from '../../testkit/src/nats.js';
import { namespaceStreams } from './provision.js';
import { openResources } from './resources.js';

async function existingStreams(jsm: Awaited<ReturnType<typeof createTestNamespace>>['jsm'], streams: readonly string[]) {
  const found: string[] = [];
  for await (const name of jsm.streams.names()) if (streams.includes(name)) found.push(name);
  return found;
}

describe('createTestNamespace', () => {
  it('gives each caller its own valid namespace over a tracked connection', async () => {
    const a = await createTestNamespace();
    const b = await createTestNamespace();
    try {
      expect(a.namespace).toMatch(/^t[0-9a-f]{12}$/);
      expect(a.namespace).toMatch(NAMESPACE_PATTERN);
      expect(a.namespace).not.toBe(b.namespace);
      expect(openResources().map((r) => r.name)).toEqual(
        expect.arrayContaining([expect.stringMatching(new RegExp(`^test-${a.namespace} `))]),
      );
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
    expect(a.nc.isClosed()).toBe(true);
  });

  it('cleanup deletes the provisioned streams and bucket, closes the connection, and is idempotent', async () => {
    const t = await createTestNamespace({ provision: true });
    const streams = namespaceStreams(t.names);
    expect(await existingStreams(t.jsm, streams)).toHaveLength(streams.length);
    const observer = await createTestNamespace();
    try {
      await t.cleanup();
      await t.cleanup();
      expect(t.nc.isClosed()).toBe(true);
      expect(await existingStreams(observer.jsm, streams)).toEqual([]);
    } finally {
      await observer.cleanup();
    }
  });

  it('cleanup fails when an ephemeral consumer was left behind, after deleting and closing anyway', async () => {
    const t = await createTestNamespace({ provision: true });
    await t.jsm.consumers.add(t.names.streams.events, { ack_policy: AckPolicy.None, inactive_threshold: 60_000_000_000 });
    await expect(t.cleanup()).rejects.toThrow(new RegExp(`ephemeral consumers left in namespace ${t.namespace}: ${t.names.streams.events}/`));
    expect(t.nc.isClosed()).toBe(true);
    const observer = await createTestNamespace();
    try {
      expect(await existingStreams(observer.jsm, namespaceStreams(t.names))).toEqual([]);
    } finally {
      await observer.cleanup();
    }
  });
});
