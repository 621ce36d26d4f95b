import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Heartbeat } from '@gantry/contracts';
import { connectNats, createLogger, loadConfig } from '@gantry/runtime';
import { createTestNamespace, startPrivateNats, type TestNamespace } from '@gantry/testkit';
import { WorkerRegistry } from './registry.js';

let ns: TestNamespace;

beforeAll(async () => {
  ns = await createTestNamespace();
});
afterAll(async () => {
  await ns?.cleanup();
});

function beat(workerId: string, pool: string): Heartbeat {
  const at = new Date().toISOString();
  return { v: 1, workerId, pool, slots: 4, busy: 0, jobs: [], draining: false, version: 'test', startedAt: at, at };
}

describe('WorkerRegistry', () => {
  it('counts live workers per pool, and reports 0 for a pool whose workers went silent', async () => {
    const counts: Map<string, number>[] = [];
    const registry = new WorkerRegistry({
      nc: ns.nc,
      names: ns.names,
      lostAfterMs: 300,
      logger: createLogger({ service: 'test', version: '0', level: 'silent' }),
      onCount: (c) => counts.push(new Map(c)),
    });
    await registry.start();
    try {
      for (const [id, pool] of [['w1', 'default'], ['w2', 'default'], ['g1', 'gpu']] as const) {
        ns.nc.publish(ns.names.subjects.heartbeat(id), JSON.stringify(beat(id, pool)));
      }
      await ns.nc.flush();
      const deadline = Date.now() + 10_000;
      while (counts.at(-1)?.get('gpu') !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(counts.at(-1)).toEqual(new Map([['default', 2], ['gpu', 1]]));
      // Nobody beats again: the periodic count goes to zero once they are lost.
      while (counts.at(-1)?.get('default') !== 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(counts.at(-1)).toEqual(new Map([['default', 0], ['gpu', 0]]));
    } finally {
      await registry.stop();
    }
  });

  it('hears nothing while its NATS connection is down, and starts its clock again when it is back', async () => {
    const nats = await startPrivateNats();
    const logger = createLogger({ service: 'test', version: '0', level: 'silent' });
    const nc = await connectNats(loadConfig({}, { NATS_URL: nats.url }), { name: 'registry-deaf', logger, reconnectWaitMs: 100 });
    const registry = new WorkerRegistry({ nc, names: ns.names, lostAfterMs: 300, logger });
    const until = async (what: string, ok: () => boolean) => {
      const deadline = Date.now() + 10_000;
      while (!ok()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      await registry.start();
      const first = registry.hearingSince();
      expect(first).toBeTypeOf('number');
      await nats.kill();
      await until('the registry is deaf', () => registry.hearingSince() === undefined);
      await nats.restart();
      await until('the registry hears again', () => registry.hearingSince() !== undefined);
      expect(registry.hearingSince()!).toBeGreaterThan(first!);
      // Beats arrive again on the subscription made before the outage.
      nc.publish(ns.names.subjects.heartbeat('back'), JSON.stringify(beat('back', 'default')));
      await until('the beat after the outage', () => registry.isLive('back'));
    } finally {
      await registry.stop();
      await nc.close();
      await nats.cleanup();
    }
  });
});
