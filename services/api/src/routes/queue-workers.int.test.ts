import { beforeAll, describe, expect, it } from 'vitest';
import type { Heartbeat, JobSpecInput } from '@gantry/contracts';
import { createHeartbeatView } from '../heartbeats.js';
import { BatchResult, QueueView, WorkersView } from '../schemas.js';
import { complete, gatedSpec, park, queue, start } from '../testing/fixtures.js';
import { testLogger, type TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';

const t = useTestApi();
let ws: TestWorkspace;

beforeAll(async () => {
  ws = await t.api.workspace();
});

const spec = (priority: number, overrides: Partial<JobSpecInput> = {}): JobSpecInput => ({
  type: 'q',
  priority,
  steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }],
  ...overrides,
});

describe('GET /queue', () => {
  it('answers the workspace’s depth per priority, delayed, running and parked jobs, and the oldest wait', async () => {
    const other = await t.api.workspace();
    await t.api.call('POST', '/runner-jobs/batch', { token: other.writer, body: { jobs: [spec(50), spec(50)] } });
    const empty = QueueView.parse((await t.api.call('GET', '/queue', { token: ws.reader })).body);
    expect(empty).toEqual({ depth: 0, delayed: 0, running: 0, waiting: 0, oldestWaitSeconds: null, priorities: [] });

    const future = new Date(Date.now() + 3_600_000).toISOString();
    const res = await t.api.call('POST', '/runner-jobs/batch', {
      token: ws.writer,
      body: { jobs: [spec(50), spec(50), spec(90), spec(50, { runAt: future }), spec(10), gatedSpec({ priority: 10 }), spec(10)] },
    });
    const ids = BatchResult.parse(res.body).jobs.map((j) => j.id);
    await t.writer.write(queue(ids[2]!));
    await t.writer.write(queue(ids[4]!));
    await t.writer.write(start(ids[4]!));
    const gate = (await t.api.pool.query('SELECT id FROM job_steps WHERE job_id = $1 AND ordinal = 1', [ids[5]])).rows[0].id;
    await t.writer.write(queue(ids[5]!));
    await t.writer.write(start(ids[5]!));
    await t.writer.write(park(ids[5]!, gate));
    await t.writer.write(queue(ids[6]!));
    await t.writer.write(start(ids[6]!));
    await t.writer.write(complete(ids[6]!));

    const view = QueueView.parse((await t.api.call('GET', '/queue', { token: ws.reader })).body);
    expect(view).toMatchObject({ depth: 3, delayed: 1, running: 1, waiting: 1 });
    expect(view.priorities.map(({ priority, depth, delayed }) => ({ priority, depth, delayed }))).toEqual([
      { priority: 90, depth: 1, delayed: 0 },
      { priority: 50, depth: 2, delayed: 1 },
    ]);
    expect(view.oldestWaitSeconds).toBeGreaterThanOrEqual(0);
    expect(view.oldestWaitSeconds).toBeLessThan(600);
    expect(view.priorities[1]!.oldestWaitSeconds).toBeGreaterThanOrEqual(view.priorities[0]!.oldestWaitSeconds!);
  });
});

function beat(workerId: string, pool: string, slots: number, busy: number): Heartbeat {
  const at = new Date().toISOString();
  return {
    v: 1,
    workerId,
    pool,
    slots,
    busy,
    jobs: busy > 0 ? [{ jobId: '00000000-0000-4000-8000-000000000001', attempt: 1 }] : [],
    draining: false,
    version: '0.1.0',
    startedAt: at,
    at,
  };
}

describe('GET /workers', () => {
  it('lists the workers heard from, with slots per pool and without the jobs they run', async () => {
    const publish = (hb: Heartbeat) => t.ns.nc.publish(t.ns.names.subjects.heartbeat(hb.workerId), JSON.stringify(hb));
    t.ns.nc.publish(t.ns.names.subjects.heartbeat('broken'), '{"v":1}');
    publish(beat('w-a', 'default', 4, 1));
    publish(beat('w-b', 'default', 2, 2));
    publish(beat('w-c', 'gpu', 1, 0));
    await Promise.all(['w-a', 'w-b', 'w-c'].map((id) => t.api.server.deps.heartbeats.seen(id)));

    const res = await t.api.call('GET', '/workers', { token: ws.reader });
    const view = WorkersView.parse(res.body);
    expect(view.workers.map((w) => [w.workerId, w.pool, w.slots, w.busy])).toEqual([
      ['w-a', 'default', 4, 1],
      ['w-b', 'default', 2, 2],
      ['w-c', 'gpu', 1, 0],
    ]);
    expect(view.pools).toEqual([
      { pool: 'default', workers: 2, slots: 6, busy: 3 },
      { pool: 'gpu', workers: 1, slots: 1, busy: 0 },
    ]);
    expect(res.text).not.toContain('00000000-0000-4000-8000-000000000001');
  });

  it('forgets a worker whose last beat is older than the liveness window', async () => {
    let now = 1_000_000;
    const view = createHeartbeatView({ nc: t.ns.nc, names: t.ns.names, logger: testLogger(), liveMs: 10_000, now: () => now });
    await view.start();
    try {
      await t.ns.nc.flush();
      t.ns.nc.publish(t.ns.names.subjects.heartbeat('w-old'), JSON.stringify(beat('w-old', 'default', 1, 0)));
      await view.seen('w-old');
      expect(view.snapshot().workers.map((w) => w.workerId)).toEqual(['w-old']);
      now += 10_001;
      expect(view.snapshot()).toEqual({ workers: [], pools: [] });
    } finally {
      await view.stop();
    }
  });
});
