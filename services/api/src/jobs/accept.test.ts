import { describe, expect, it } from 'vitest';
import { names, SubmitCommand, type JobSpec } from '@gantry/contracts';
import type { OutgoingMessage } from '@gantry/runtime';
import type { ApiDeps } from '../deps.js';
import { announceCreated, type PreparedJob, type Stored } from './accept.js';

const spec = { type: 'grouped', priority: 50, steps: [] } as unknown as JobSpec;

function job(id: string, actor: string, requestId: string): PreparedJob {
  return { id, workspaceId: '0195f3a0-0000-7000-8000-000000000001', spec, status: 'PENDING', actor, requestId, path: '' };
}

const created = (j: PreparedJob): Stored => ({ kind: 'created', created: { id: j.id, workspaceId: j.workspaceId, status: 'PENDING', attempt: 0, stepIds: [], events: [] } });

describe('announceCreated', () => {
  it('groups one flush’s jobs into submit commands per request, workspace and token: a shared X-Request-Id does not merge two callers', async () => {
    const published: OutgoingMessage[] = [];
    const deps = {
      names: names('t'),
      apiMetrics: { countSubmitted: () => {} },
      fanOut: () => {},
      announcer: { publishAll: async (messages: OutgoingMessage[]) => (published.push(...messages), []) },
      logger: { warn: () => {} },
    } as unknown as ApiDeps;
    const jobs = [job('0195f3a0-0000-7000-8000-00000000000a', 'api:token-a', 'same'), job('0195f3a0-0000-7000-8000-00000000000b', 'api:token-b', 'same'), job('0195f3a0-0000-7000-8000-00000000000c', 'api:token-a', 'same')];
    announceCreated(deps, jobs, jobs.map(created));
    const commands = published.map((m) => SubmitCommand.parse(JSON.parse(String(m.data))));
    expect(commands.map((c) => [c.actor, (c.jobs ?? []).map((j) => j.jobId.slice(-1))])).toEqual([
      ['api:token-a', ['a', 'c']],
      ['api:token-b', ['b']],
    ]);
  });
});
