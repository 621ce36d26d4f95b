/**
 * The express lane under the least-privilege NATS permissions of `deploy/nats/permissions.yaml`.
 * With WORKER_EXPRESS_SLOTS set, the scheduler sends an urgent job to one worker as a core-NATS
 * request on `<ns>.ctl.express.<workerId>` and the worker answers on the request's reply inbox
 * (services/scheduler/src/dispatch/dispatcher.ts `#sendExpress`, services/worker/src/dispatch/
 * express.ts). Neither was allowed: every urgent job waited out the request's timeout and went
 * back to the backlog. This test does exactly that, as the `gantry-scheduler` and
 * `gantry-worker` users of a private nats-server configured from the rendering the deploy docs
 * use, and expects an answer and no permission violation.
 */
import { randomBytes } from 'node:crypto';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { names } from '@gantry/contracts';
import { connectNats, createLogger, loadConfig } from '@gantry/runtime';
import { randomNamespace, startPrivateNats, type PrivateNats } from '@gantry/testkit';
import { authorizationBlock, NATS_SERVICES, type NatsService } from './nats-auth.js';

const namespace = randomNamespace();
const passwords = Object.fromEntries(NATS_SERVICES.map((s) => [s, randomBytes(12).toString('hex')])) as Record<NatsService, string>;
let nats: PrivateNats;
const connections: NatsConnection[] = [];

async function connectAs(service: NatsService): Promise<NatsConnection> {
  const env = { NATS_URL: nats.url, NATS_USER: `gantry-${service}`, NATS_PASSWORD: passwords[service] };
  const nc = await connectNats(loadConfig({}, env), { name: `express-${service}`, logger: createLogger({ service: 'test', version: '0', level: 'silent' }) });
  connections.push(nc);
  return nc;
}

beforeAll(async () => {
  nats = await startPrivateNats({ config: authorizationBlock(namespace, passwords) });
});
afterAll(async () => {
  for (const nc of connections) await nc.close();
  await nats?.cleanup();
});

describe('least-privilege NATS permissions and the express lane', () => {
  it('let the scheduler send an express dispatch to a worker and the worker answer it', async () => {
    const subject = names(namespace).subjects.express('worker-1');
    const worker = await connectAs('worker');
    const scheduler = await connectAs('scheduler');

    // The worker's express listener, as services/worker/src/dispatch/express.ts sets it up.
    worker.subscribe(subject, { callback: (err, msg) => void (err ? undefined : msg.respond(JSON.stringify({ v: 1, accepted: true }))) });
    await worker.flush();

    // The scheduler's request, as Dispatcher#sendExpress makes it.
    const answer = await scheduler
      .request(subject, JSON.stringify({ v: 1 }), { timeout: 2_000 })
      .then((m) => m.json<{ accepted: boolean }>())
      .catch((err: unknown) => `no answer: ${String(err)}`);
    const violations = nats
      .log()
      .split('\n')
      .filter((l) => /Permissions Violation/i.test(l))
      .map((l) => l.replace(/^.*?(Permissions Violation)/i, '$1'));

    expect({ answer, violations }).toEqual({ answer: { v: 1, accepted: true }, violations: [] });
  });
});
