/** A bearer token of one workspace, stored as the SHA-256 of its secret. */
import { defineEntity, type InferEntity } from '@mikro-orm/core';

/** What a token may do. */
export const TOKEN_SCOPES = ['jobs:read', 'jobs:write', 'jobs:admin'] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

export const ApiTokenSchema = defineEntity({
  name: 'ApiToken',
  tableName: 'api_tokens',
  properties: (p) => ({
    id: p.uuid().primary().defaultRaw('gen_random_uuid()'),
    workspaceId: p.uuid(),
    name: p.text(),
    tokenHash: p.text().unique('api_tokens_token_hash_key'),
    /** The first characters of the secret, shown so a person can tell tokens apart. */
    prefix: p.text(),
    scopes: p.array<TokenScope>().columnType('text[]'),
    expiresAt: p.datetime().nullable(),
    revokedAt: p.datetime().nullable(),
    lastUsedAt: p.datetime().nullable(),
    createdAt: p.datetime().defaultRaw('now()'),
  }),
});
export type ApiToken = InferEntity<typeof ApiTokenSchema>;
