import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Heartbeat } from '@gantry/contracts';
import { connectNats, createLogger, loadConfig } from '@gantry/runtime';
import { createTestNamespace, startPrivateNats, type TestNamespace } from '@gantry/testkit';
import { COUNT_INTERVAL_MS, WorkerRegistry } from './registry.js';

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

  it('forgets workers silent for lostAfterMs by itself, as a standby must (only a leader recovers lost workers)', async () => {
    const registry = new WorkerRegistry({ nc: ns.nc, names: ns.names, lostAfterMs: 200, logger: createLogger({ service: 'test', version: '0', level: 'silent' }) });
    await registry.start();
    try {
      // 200 worker processes come and go (pods restarted, scaled down): an id each.
      for (let i = 0; i < 200; i++) ns.nc.publish(ns.names.subjects.heartbeat(`gone-${i}`), JSON.stringify(beat(`gone-${i}`, 'default')));
      await ns.nc.flush();
      const deadline = Date.now() + 10_000;
      while (registry.live().length < 200 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(registry.live()).toHaveLength(200);
      // Past lostAfterMs and two periodic counts, with nobody calling forgetLost.
      await new Promise((r) => setTimeout(r, 200 + 2 * COUNT_INTERVAL_MS + 200));
      expect(registry.live()).toHaveLength(0);
      // What the map still holds: forgetLost answers the ids it still had to drop.
      expect(registry.forgetLost()).toEqual([]);
    } finally {
      await registry.stop();
    }
  });
});
