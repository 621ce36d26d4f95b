/**
 * What the deploy docs tell operators to run (`npm run -w @gantry/deploy nats:auth -- <namespace>`)
 * printed each service's password as the text `$GANTRY_<SERVICE>_NATS_PASSWORD`, which
 * nats-server takes literally in a quoted string: the services, given the variable's value,
 * were refused, and a password anyone could read in the repository was accepted. It now prints
 * new random passwords in the server's block, and the commands that put each in its service's
 * own Secret. Configured with exactly that output, the server accepts each service with the
 * password of its printed Secret, and nothing else.
 */
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectNats, createLogger, loadConfig } from '@gantry/runtime';
import { randomNamespace, startPrivateNats, type PrivateNats } from '@gantry/testkit';
import { REPO_ROOT } from './paths.js';

const namespace = randomNamespace();
let nats: PrivateNats;
let secrets: Map<string, { user: string; password: string }>;

beforeAll(async () => {
  const out = spawnSync('npm', ['run', '-s', '-w', '@gantry/deploy', 'nats:auth', '--', namespace], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  expect(out.status, out.stderr).toBe(0);
  const rendered = JSON.parse(out.stdout) as Record<string, unknown>;
  secrets = new Map(
    [...out.stderr.matchAll(/create secret generic gantry-(\w+)-secrets --from-literal=NATS_USER=(\S+) --from-literal=NATS_PASSWORD='([^']+)'/g)].map((m) => [m[1]!, { user: m[2]!, password: m[3]! }]),
  );
  nats = await startPrivateNats({ config: rendered });
});
afterAll(async () => {
  await nats?.cleanup();
});

async function tryConnect(user: string, password: string): Promise<string> {
  try {
    const nc = await connectNats(loadConfig({}, { NATS_URL: nats.url, NATS_USER: user, NATS_PASSWORD: password }), {
      name: 'auth-render',
      logger: createLogger({ service: 'test', version: '0', level: 'silent' }),
    });
    await nc.close();
    return 'accepted';
  } catch (err) {
    return `refused: ${String(err)}`;
  }
}

it('gives each service a real password, in its own Secret', async () => {
  expect([...secrets.keys()].sort()).toEqual(['api', 'scheduler', 'worker']);
  for (const [service, { user, password }] of secrets) {
    expect(user).toBe(`gantry-${service}`);
    expect(password).toMatch(/^[\w-]{32}$/);
    expect(await tryConnect(user, password)).toBe('accepted');
  }
  expect(await tryConnect('gantry-api', '$GANTRY_API_NATS_PASSWORD')).toMatch(/^refused/);
  expect(await tryConnect('gantry-api', secrets.get('worker')!.password)).toMatch(/^refused/);
});
