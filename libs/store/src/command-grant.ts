/**
 * Command grants: how the API vouches, on a command it publishes for an HTTP caller, that the
 * caller's token authorised exactly that command, without putting the token itself into the
 * commands stream (where it would rest until the scheduler acks it, and for a stopped scheduler
 * for days, readable by anyone who can read the stream).
 *
 * A grant is `v1.<token id>.<signature>`: the base64url HMAC-SHA256, under the key the API and
 * the scheduler share (COMMAND_SIGNING_KEY), of the version, the token id and the message's
 * exact bytes. It authorises that message only: changing a byte of the command, or the token it
 * names, breaks it, and sending the same message again is the same command (its id makes it
 * one). The scheduler then checks the token by its id as it checks a `Gantry-Token`: not revoked,
 * not expired, the workspace and the scope.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

const VERSION = 'v1';
const GRANT = /^v1\.([0-9a-f-]{36})\.([A-Za-z0-9_-]{43})$/;

function signature(key: string, tokenId: string, data: Uint8Array): Buffer {
  return createHmac('sha256', key).update(`${VERSION}\n${tokenId}\n`).update(data).digest();
}

/** The grant of token `tokenId` for the message `data`. */
export function signGrant(key: string, tokenId: string, data: Uint8Array): string {
  return `${VERSION}.${tokenId}.${signature(key, tokenId, data).toString('base64url')}`;
}

/** The token id a grant names when it was signed with `key` for exactly `data`; undefined otherwise. */
export function verifyGrant(key: string, grant: string, data: Uint8Array): string | undefined {
  const parts = GRANT.exec(grant);
  if (!parts) return undefined;
  const [, tokenId, given] = parts as unknown as [string, string, string];
  // Compared as text: base64url's last character carries 2 spare bits, so decoding would take
  // four spellings of one signature.
  const expected = Buffer.from(signature(key, tokenId, data).toString('base64url'), 'ascii');
  const presented = Buffer.from(given, 'ascii');
  return presented.length === expected.length && timingSafeEqual(presented, expected) ? tokenId : undefined;
}
