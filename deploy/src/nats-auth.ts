/**
 * Renders `deploy/nats/permissions.yaml` for one namespace: per service the subjects it may
 * publish and subscribe to, and the nats-server `authorization` block with one user per service.
 * The deploy docs and the end-to-end permission test use this same rendering.
 *
 *   npm run -w @gantry/deploy nats:auth -- <namespace>
 *
 * prints the authorization block (JSON, with new random passwords) on stdout, and on stderr the
 * `kubectl create secret` commands that give each service its user and password.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import { deployPath } from './paths.js';

/** The services with a NATS user. */
export const NATS_SERVICES = ['api', 'scheduler', 'worker'] as const;
export type NatsService = (typeof NATS_SERVICES)[number];

const Rules = z.strictObject({
  jetstream: z.array(z.string()),
  publish: z.array(z.string()),
  subscribe: z.array(z.string()),
  /** May answer requests it received (nats-server's `allow_responses`), on their reply subjects only. */
  responses: z.boolean().optional(),
});
const File = z.strictObject({ api: Rules, scheduler: Rules, worker: Rules, streams: z.array(z.string().regex(/^[A-Z_]+$/)) });

/** What one service may do. */
export interface Permissions {
  readonly publish: string[];
  readonly subscribe: string[];
  readonly responses: boolean;
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
    responses: r.responses ?? false,
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
        permissions: {
          publish: { allow: perms[service].publish },
          subscribe: { allow: perms[service].subscribe },
          ...(perms[service].responses ? { allow_responses: true } : {}),
        },
      })),
    },
  };
}

/** A new random password for a service's NATS user. */
export function newPassword(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The command that stores a service's NATS credentials in its own Secret, which the manifests
 * read after the shared `gantry-secrets` (deploy/k8s/base): each service connects as its user.
 */
export function secretCommand(service: NatsService, password: string, k8sNamespace = 'gantry'): string {
  return `kubectl -n ${k8sNamespace} create secret generic gantry-${service}-secrets --from-literal=NATS_USER=gantry-${service} --from-literal=NATS_PASSWORD='${password}'`;
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  // The server's block on stdout (merge it under the NATS chart's `config.merge`); the Secrets
  // that give each service its user, on stderr. Every run makes new passwords.
  const namespace = process.argv[2] ?? 'gantry';
  const passwords = Object.fromEntries(NATS_SERVICES.map((s) => [s, newPassword()])) as Record<NatsService, string>;
  process.stdout.write(`${JSON.stringify(authorizationBlock(namespace, passwords), null, 2)}\n`);
  process.stderr.write(`# Each service's NATS user, in a Secret of its own:\n${NATS_SERVICES.map((s) => secretCommand(s, passwords[s])).join('\n')}\n`);
}
