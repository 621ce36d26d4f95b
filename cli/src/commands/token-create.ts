/**
 * `gantry token create --workspace NAME --scopes S[,S…]`: mints an API token for a workspace and
 * prints it once (on stdout, alone, so a script can capture it). Only its SHA-256 is stored.
 */
import { isScope, mintToken, TOKEN_SCOPES, type TokenScope } from '@gantry/store';
import { ApiTokenSchema, WorkspaceSchema } from '@gantry/store';
import { parseDuration, UsageError, type ParsedArgs } from '../args.js';
import { withDatabase } from '../db.js';
import { EXIT } from '../exit.js';
import type { Command } from './command.js';

function scopesOf(args: ParsedArgs): TokenScope[] {
  const text = args.values.get('scopes');
  if (text === undefined) throw new UsageError(`--scopes is required: one or more of ${TOKEN_SCOPES.join(', ')}`);
  const scopes = [...new Set(text.split(',').map((s) => s.trim()).filter((s) => s !== ''))];
  const unknown = scopes.filter((s) => !isScope(s));
  if (scopes.length === 0 || unknown.length > 0) {
    throw new UsageError(`unknown scope ${unknown.map((s) => JSON.stringify(s)).join(', ') || '(none given)'}: use ${TOKEN_SCOPES.join(', ')}`);
  }
  return scopes as TokenScope[];
}

/** The latest expiry a token may be given. */
const LATEST_EXPIRY = Date.parse('9999-12-31T23:59:59.999Z');

function expiryOf(args: ParsedArgs, now: number): Date | null {
  const inText = args.values.get('expires-in');
  const atText = args.values.get('expires-at');
  if (inText !== undefined && atText !== undefined) throw new UsageError('give --expires-in or --expires-at, not both');
  const at = inText !== undefined ? now + parseDuration(inText) : atText === undefined ? null : Date.parse(atText);
  if (at === null) return null;
  if (Number.isNaN(at)) throw new UsageError(`--expires-at ${JSON.stringify(atText)} is not a date and time (ISO 8601)`);
  if (at <= now) throw new UsageError('--expires-at is in the past');
  // PostgreSQL's timestamps end in the year 294276, JavaScript's dates before; either way, a date
  // no token needs.
  if (at > LATEST_EXPIRY) throw new UsageError(`the expiry is after ${new Date(LATEST_EXPIRY).toISOString()}`);
  return new Date(at);
}

export const tokenCreate: Command = {
  words: ['token', 'create'],
  usage: 'token create --workspace NAME --scopes jobs:read[,jobs:write,jobs:admin] [--name LABEL] [--expires-in 30d | --expires-at ISO] [--json]',
  summary: 'Create an API token for a workspace and print it once.',
  flags: { workspace: 'value', scopes: 'value', name: 'value', 'expires-in': 'value', 'expires-at': 'value', json: 'switch' },
  async run(args, io) {
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${JSON.stringify(args.positionals[0])}`);
    const workspaceName = args.values.get('workspace');
    if (workspaceName === undefined) throw new UsageError('--workspace is required');
    const scopes = scopesOf(args);
    const expiresAt = expiryOf(args, Date.now());
    const label = args.values.get('name') ?? 'cli';
    const minted = mintToken();
    const created = await withDatabase(io, async (em) => {
      const ws = await em.findOne(WorkspaceSchema, { name: workspaceName });
      if (!ws) return null;
      const token = em.create(ApiTokenSchema, {
        workspaceId: ws.id,
        name: label,
        tokenHash: minted.hash,
        prefix: minted.prefix,
        scopes,
        expiresAt,
        revokedAt: null,
        lastUsedAt: null,
      });
      await em.flush();
      return { id: token.id, workspaceId: ws.id };
    });
    if (!created) {
      io.err(`error: no workspace named ${workspaceName}`);
      return EXIT.notFound;
    }
    if (args.switches.has('json')) {
      io.out(JSON.stringify({ token: minted.token, id: created.id, workspaceId: created.workspaceId, scopes, expiresAt }));
    } else io.out(minted.token);
    io.err(
      `created token ${created.id} (${minted.prefix}…) for workspace ${workspaceName} with ${scopes.join(', ')}` +
        `${expiresAt ? `, expiring ${expiresAt.toISOString()}` : ''}. It is shown only now: store it.`,
    );
    return 0;
  },
};
