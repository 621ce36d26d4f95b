import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signGrant, verifyGrant } from './command-grant.js';

const KEY = 'k'.repeat(32);
const bytes = (s: string) => new TextEncoder().encode(s);

describe('command grants', () => {
  const tokenId = randomUUID();
  const data = bytes('{"v":1,"kind":"approve","decision":"approve"}');

  it('name their token for the very message they were signed for', () => {
    const grant = signGrant(KEY, tokenId, data);
    expect(grant).toMatch(/^v1\./);
    expect(grant).not.toContain('approve');
    expect(verifyGrant(KEY, grant, data)).toBe(tokenId);
  });

  it('authorise nothing else: another message, another token, another key, a mangled grant', () => {
    const grant = signGrant(KEY, tokenId, data);
    expect(verifyGrant(KEY, grant, bytes('{"v":1,"kind":"approve","decision":"reject"}'))).toBeUndefined();
    expect(verifyGrant(KEY, grant.replace(tokenId, randomUUID()), data)).toBeUndefined();
    expect(verifyGrant('x'.repeat(32), grant, data)).toBeUndefined();
    const middle = grant.length - 20;
    expect(verifyGrant(KEY, `${grant.slice(0, middle)}${grant[middle] === 'A' ? 'B' : 'A'}${grant.slice(middle + 1)}`, data)).toBeUndefined();
    // The signature's last character carries 2 spare bits: another spelling of it is refused too.
    const last = grant.at(-1)!;
    const respelled = String.fromCharCode(last.charCodeAt(0) ^ 1);
    expect(verifyGrant(KEY, `${grant.slice(0, -1)}${respelled}`, data)).toBeUndefined();
    for (const junk of ['', 'v1', `v2.${tokenId}.${grant.split('.')[2]}`, `v1.${tokenId}.`, `${grant}x`]) {
      expect(verifyGrant(KEY, junk, data), junk).toBeUndefined();
    }
  });
});
