import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { allows, hashToken, isScope, looksLikeToken, mintToken, TOKEN_PREFIX_LENGTH } from './tokens.js';

describe('API tokens', () => {
  it('are gantry_ and 256 random bits, stored as their SHA-256 and a short prefix', () => {
    const a = mintToken();
    const b = mintToken();
    expect(a.token).toMatch(/^gantry_[A-Za-z0-9_-]{43}$/);
    expect(a.token).not.toBe(b.token);
    expect(a.hash).toBe(createHash('sha256').update(a.token).digest('hex'));
    expect(a.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(a.prefix).toBe(a.token.slice(0, TOKEN_PREFIX_LENGTH));
    expect(hashToken(a.token)).toBe(a.hash);
  });

  it('are looked up only when they could be tokens at all', () => {
    expect(looksLikeToken(mintToken().token)).toBe(true);
    expect(looksLikeToken(`other_${'a'.repeat(43)}`)).toBe(true);
    expect(looksLikeToken('short')).toBe(false);
    expect(looksLikeToken('x'.repeat(257))).toBe(false);
    expect(looksLikeToken(`gantry_${'a'.repeat(20)} OR 1=1`)).toBe(false);
  });
});

describe('scopes', () => {
  it('nest: admin includes write, write includes read', () => {
    expect(allows(['jobs:admin'], 'jobs:write')).toBe(true);
    expect(allows(['jobs:write'], 'jobs:read')).toBe(true);
    expect(allows(['jobs:write'], 'jobs:admin')).toBe(false);
    expect(allows(['jobs:read'], 'jobs:write')).toBe(false);
    expect(allows([], 'jobs:read')).toBe(false);
    expect([isScope('jobs:read'), isScope('jobs:delete')]).toEqual([true, false]);
  });
});
