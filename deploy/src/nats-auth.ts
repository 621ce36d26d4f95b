/**
 * Renders `deploy/nats/permissions.yaml` for one namespace: per service the subjects it may
 * publish and subscribe to, and the nats-server `authorization` block with one user per service.
 * The deploy docs and the end-to-end permission test use this same rendering.
 *
 *   npx tsx deploy/src/nats-auth.ts <namespace>   # prints the authorization block (JSON)
 */
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { deployPath } from './paths.js';

/** The services with a NATS user. */
export const NATS_SERVICES = ['api', 'scheduler', 'worker'] as const;
export type NatsService = (typeof NATS_SERVICES)[number];

const Rules = z.strictObject({ jetstream: z.array(z.string()), publish: z.array(z.string()), subscribe: z.array(z.string()) });
const File = z.strictObject({ api: Rules, scheduler: Rules, worker: Rules, streams: z.array(z.string().regex(/^[A-Z_]+$/)) });

/** What one service may do. */
export interface Permissions {
  readonly publish: string[];
  readonly subscribe: string[];
}

/** The permissions of every service in `namespace`, placeholders expanded. */
export function natsPermissions(namespace: string, file = deployPath('nats/permissions.yaml')): Record<NatsService, Permissions> {
  const data = File.parse(parse(readFileSync(file, 'utf8')));
  const NS = namespace.toUpperCase();
  const fill = (s: string) => s.replaceAll('{ns}', namespace).replaceAll('{NS}', NS).replaceAll('{bucket}', `${namespace}-artifacts`);
  const streams = (s: string) => (s === '{NS}_*' ? data.streams.map((name) => `${NS}_${name}`) : [fill(s)]);
  const api = (stream: string) => [`$JS.API.*.*.${stream}`, `$JS.API.*.*.${stream}.>`, `$JS.API.*.*.*.${stream}`, `$JS.API.*.*.*.${stream}.>`];
  const render = (r: z.infer<typeof Rules>): Permissions => ({
    publish: [...r.publish.map(fill), '$JS.API.INFO', ...r.jetstream.flatMap(streams).flatMap(api)],
    subscribe: r.subscribe.map(fill),
  });
  return { api: render(data.api), scheduler: render(data.scheduler), worker: render(data.worker) };
}

/** The nats-server `authorization` block: one user per service with its password and permissions. */
export function authorizationBlock(namespace: string, passwords: Record<NatsService, string>): Record<string, unknown> {
  const perms = natsPermissions(namespace);
  return {
    authorization: {
      users: NATS_SERVICES.map((service) => ({
        user: `gantry-${service}`,
        password: passwords[service],
        permissions: { publish: { allow: perms[service].publish }, subscribe: { allow: perms[service].subscribe } },
      })),
    },
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const namespace = process.argv[2] ?? 'gantry';
  const placeholder = (s: NatsService) => `$GANTRY_${s.toUpperCase()}_NATS_PASSWORD`;
  process.stdout.write(`${JSON.stringify(authorizationBlock(namespace, { api: placeholder('api'), scheduler: placeholder('scheduler'), worker: placeholder('worker') }), null, 2)}\n`);
}
